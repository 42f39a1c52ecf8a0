//go:build linux && (386 || amd64 || arm || arm64 || riscv64 || loong64)

package camera

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// The sizes of the kernel structures and the ioctl numbers, as the C
// headers give them on 32-bit (arm, 386) and 64-bit (arm64, amd64)
// Linux. GOARCH=arm go vet type-checks this file; under qemu-arm the
// assertions run.
func TestV4L2Layout(t *testing.T) {
	is64 := unsafe.Sizeof(uintptr(0)) == 8
	pick := func(b32, b64 uintptr) uintptr {
		if is64 {
			return b64
		}
		return b32
	}
	for name, c := range map[string][2]uintptr{
		"v4l2_capability":     {unsafe.Sizeof(v4l2Capability{}), 104},
		"v4l2_pix_format":     {unsafe.Sizeof(v4l2PixFormat{}), 48},
		"v4l2_format":         {unsafe.Sizeof(v4l2Format{}), pick(204, 208)},
		"v4l2_format.fmt":     {unsafe.Offsetof(v4l2Format{}.Pix), pick(4, 8)},
		"v4l2_requestbuffers": {unsafe.Sizeof(v4l2RequestBuffers{}), 20},
		"v4l2_timecode":       {unsafe.Sizeof(v4l2Timecode{}), 16},
		"v4l2_buffer":         {unsafe.Sizeof(v4l2Buffer{}), pick(68, 88)},
		"v4l2_buffer.m":       {unsafe.Offsetof(v4l2Buffer{}.M), pick(52, 64)},
		"v4l2_buffer.length":  {unsafe.Offsetof(v4l2Buffer{}.Length), pick(56, 72)},
		"VIDIOC_QUERYCAP":     {vidiocQueryCap, 0x80685600},
		"VIDIOC_S_FMT":        {vidiocSFmt, pick(0xc0cc5605, 0xc0d05605)},
		"VIDIOC_REQBUFS":      {vidiocReqBufs, 0xc0145608},
		"VIDIOC_QUERYBUF":     {vidiocQueryBuf, pick(0xc0445609, 0xc0585609)},
		"VIDIOC_QBUF":         {vidiocQBuf, pick(0xc044560f, 0xc058560f)},
		"VIDIOC_DQBUF":        {vidiocDQBuf, pick(0xc0445611, 0xc0585611)},
		"VIDIOC_STREAMON":     {vidiocStreamOn, 0x40045612},
		"VIDIOC_STREAMOFF":    {vidiocStreamOff, 0x40045613},
	} {
		if c[0] != c[1] {
			t.Errorf("%s = %#x, want %#x", name, c[0], c[1])
		}
	}
	if fourcc(fourccYUYV) != "YUYV" || fourcc(fourccGREY) != "GREY" {
		t.Error("fourcc")
	}
}

func TestV4L2OpenErrors(t *testing.T) {
	if _, err := OpenV4L2("/dev/nonexistent-video", V4L2Config{}); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("missing device: %v", err)
	}
	// /dev/null opens but answers no V4L2 ioctl
	if _, err := OpenV4L2("/dev/null", V4L2Config{}); err == nil || !strings.Contains(err.Error(), "not a V4L2 device") {
		t.Fatalf("/dev/null: %v", err)
	}
}

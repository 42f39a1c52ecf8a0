//go:build linux

package fbdev

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Framebuffer ioctls and constants from <linux/fb.h>. The request numbers
// are plain constants, the same on every architecture.
const (
	fbioGetVScreenInfo = 0x4600
	fbioGetFScreenInfo = 0x4602
	fbVisualTrueColor  = 2
)

type fbBitfield struct {
	Offset, Length, MsbRight uint32
}

// varScreenInfo is struct fb_var_screeninfo (160 bytes on every arch).
type varScreenInfo struct {
	Xres, Yres, XresVirtual, YresVirtual uint32
	Xoffset, Yoffset                     uint32
	BitsPerPixel, Grayscale              uint32
	Red, Green, Blue, Transp             fbBitfield
	Nonstd, Activate, Height, Width      uint32
	AccelFlags                           uint32
	Timing                               [11]uint32 // pixclock ... colorspace
	Reserved                             [4]uint32
}

// fixScreenInfo is struct fb_fix_screeninfo. Its unsigned longs are
// uintptr so that Go lays it out as C does (68 bytes on 32-bit, 80 on
// 64-bit).
type fixScreenInfo struct {
	ID                             [16]byte
	SmemStart                      uintptr
	SmemLen, Type, TypeAux, Visual uint32
	Xpanstep, Ypanstep, Ywrapstep  uint16
	LineLength                     uint32
	MmioStart                      uintptr
	MmioLen, Accel                 uint32
	Capabilities                   uint16
	Reserved                       [2]uint16
}

func ioctl(fd uintptr, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// Open opens a framebuffer device such as /dev/fb0 and reads its
// geometry and pixel format from the kernel.
//
// The pixels are mapped: on fbtft SPI panels the kernel's deferred I/O
// then sends only the pages (lines) Flush touched, on every kernel
// version, whereas write() on older fbtft kernels marks the whole panel
// dirty. A driver that refuses mmap is written with pwrite instead.
func Open(path string, o Options) (*Display, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("fbdev: %w", err)
	}
	d, err := open(f, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	return d, nil
}

func open(f *os.File, o Options) (*Display, error) {
	path := f.Name()
	fd := f.Fd()
	var v varScreenInfo
	if err := ioctl(fd, fbioGetVScreenInfo, unsafe.Pointer(&v)); err != nil {
		if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("fbdev: %s is not a framebuffer (FBIOGET_VSCREENINFO: %w)", path, err)
		}
		return nil, fmt.Errorf("fbdev: %s: FBIOGET_VSCREENINFO: %w", path, err)
	}
	var fx fixScreenInfo
	if err := ioctl(fd, fbioGetFScreenInfo, unsafe.Pointer(&fx)); err != nil {
		return nil, fmt.Errorf("fbdev: %s: FBIOGET_FSCREENINFO: %w", path, err)
	}
	id := string(fx.ID[:])
	for i, c := range fx.ID {
		if c == 0 {
			id = string(fx.ID[:i])
			break
		}
	}
	if fx.Visual != fbVisualTrueColor {
		return nil, fmt.Errorf("fbdev: %s (%s): visual %d is not true colour; want a 16 or 32 bpp truecolor framebuffer", path, id, fx.Visual)
	}
	if v.Red.MsbRight|v.Green.MsbRight|v.Blue.MsbRight != 0 {
		return nil, fmt.Errorf("fbdev: %s (%s): bit-reversed (msb_right) colour fields are not supported", path, id)
	}
	bf := func(b fbBitfield) Bitfield { return Bitfield{Offset: int(b.Offset), Length: int(b.Length)} }
	g := Geometry{
		Width: int(v.Xres), Height: int(v.Yres), Stride: int(fx.LineLength),
		Format: Format{
			BitsPerPixel: int(v.BitsPerPixel),
			Red:          bf(v.Red), Green: bf(v.Green), Blue: bf(v.Blue), Transp: bf(v.Transp),
		},
	}
	// The visible window starts at the panning offset.
	g.Offset = int64(v.Yoffset)*int64(fx.LineLength) + int64(v.Xoffset)*int64(v.BitsPerPixel/8)
	if err := g.check(); err != nil {
		return nil, fmt.Errorf("%w (%s %s)", err, path, id)
	}
	size := g.Size()
	if fx.SmemLen != 0 && size > int64(fx.SmemLen) {
		return nil, fmt.Errorf("fbdev: %s (%s): %dx%d at stride %d needs %d bytes; the framebuffer has %d",
			path, id, g.Width, g.Height, g.Stride, size, fx.SmemLen)
	}

	var d *Display
	var err error
	mem, merr := unix.Mmap(int(fd), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if merr == nil {
		d, err = New(Memory(mem), g, o)
		if err != nil {
			unix.Munmap(mem)
			return nil, err
		}
		d.closer = func() error {
			err := unix.Munmap(mem)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err
		}
	} else {
		d, err = New(f, g, o)
		if err != nil {
			return nil, err
		}
		d.closer = f.Close
	}
	d.name = fmt.Sprintf("%s (%s)", path, id)
	return d, nil
}

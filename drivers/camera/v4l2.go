//go:build linux && (386 || amd64 || arm || arm64 || riscv64 || loong64)

// The ioctl numbers below use the generic Linux encoding (2 direction
// bits, 14 size bits), which these architectures share; MIPS, PowerPC and
// SPARC encode differently and get v4l2_other.go.

package camera

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
	"unsafe"
)

// The kernel's structures (include/uapi/linux/videodev2.h), laid out so
// that Go's alignment gives the C sizes on 32- and 64-bit ARM alike;
// v4l2_test.go checks the sizes per architecture.

type v4l2Capability struct {
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

type v4l2PixFormat struct {
	Width        uint32
	Height       uint32
	PixelFormat  uint32
	Field        uint32
	BytesPerLine uint32
	SizeImage    uint32
	Colorspace   uint32
	Priv         uint32
	Flags        uint32
	YcbcrEnc     uint32
	Quantization uint32
	XferFunc     uint32
}

// v4l2Format: a type, then a 200-byte union whose v4l2_window member
// holds pointers, so the union starts pointer-aligned (offset 8 on
// 64-bit, 4 on 32-bit). The zero-length uintptr array gives Go the same
// alignment.
type v4l2Format struct {
	Type uint32
	_    [0]uintptr
	Pix  v4l2PixFormat
	_    [200 - 48]byte
}

type v4l2RequestBuffers struct {
	Count        uint32
	Type         uint32
	Memory       uint32
	Capabilities uint32
	Flags        uint8
	Reserved     [3]uint8
}

type v4l2Timecode struct {
	Type     uint32
	Flags    uint32
	Frames   uint8
	Seconds  uint8
	Minutes  uint8
	Hours    uint8
	Userbits [4]uint8
}

// v4l2Buffer: the timestamp is a struct timeval (two longs: 8 bytes on
// 32-bit ARM, 16 on 64-bit), the m union is as wide as a pointer. On
// 32-bit this is the 68-byte layout every kernel accepts (newer ones call
// it the time32 variant).
type v4l2Buffer struct {
	Index     uint32
	Type      uint32
	BytesUsed uint32
	Flags     uint32
	Field     uint32
	Timestamp syscall.Timeval
	Timecode  v4l2Timecode
	Sequence  uint32
	Memory    uint32
	M         uintptr // union: offset for MMAP buffers, in the low 32 bits
	Length    uint32
	Reserved2 uint32
	RequestFD int32
}

const (
	capVideoCapture = 0x00000001
	capStreaming    = 0x04000000
	capDeviceCaps   = 0x80000000

	bufTypeVideoCapture = 1
	memoryMmap          = 1
	fieldNone           = 1
	bufFlagError        = 0x40

	fourccYUYV = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
	fourccGREY = 'G' | 'R'<<8 | 'E'<<16 | 'Y'<<24
)

// ioctl request numbers: direction<<30 | size<<16 | 'V'<<8 | number.
const (
	iocWrite = 1
	iocRead  = 2
)

func vidioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | 'V'<<8 | nr }

var (
	vidiocQueryCap  = vidioc(iocRead, 0, unsafe.Sizeof(v4l2Capability{}))
	vidiocSFmt      = vidioc(iocRead|iocWrite, 5, unsafe.Sizeof(v4l2Format{}))
	vidiocReqBufs   = vidioc(iocRead|iocWrite, 8, unsafe.Sizeof(v4l2RequestBuffers{}))
	vidiocQueryBuf  = vidioc(iocRead|iocWrite, 9, unsafe.Sizeof(v4l2Buffer{}))
	vidiocQBuf      = vidioc(iocRead|iocWrite, 15, unsafe.Sizeof(v4l2Buffer{}))
	vidiocDQBuf     = vidioc(iocRead|iocWrite, 17, unsafe.Sizeof(v4l2Buffer{}))
	vidiocStreamOn  = vidioc(iocWrite, 18, unsafe.Sizeof(int32(0)))
	vidiocStreamOff = vidioc(iocWrite, 19, unsafe.Sizeof(int32(0)))
)

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// V4L2Config is what to ask the camera for.
type V4L2Config struct {
	Width, Height int    // default 640×480
	Format        Format // YUYV (the default: every UVC camera has it) or Grey
	Buffers       int    // mmap buffers, default 4
}

// V4L2 is a Video4Linux2 capture device streaming through mmap buffers.
type V4L2 struct {
	fd      int
	width   int
	height  int
	stride  int
	format  Format
	bufs    [][]byte
	held    int // buffer index handed out by the last Next, -1 if none
	started bool
}

// OpenV4L2 opens the device, sets the format, maps the buffers and
// starts streaming. Errors leave the device's name to the caller.
func OpenV4L2(dev string, cfg V4L2Config) (*V4L2, error) {
	if cfg.Width == 0 && cfg.Height == 0 {
		cfg.Width, cfg.Height = 640, 480
	}
	if cfg.Buffers == 0 {
		cfg.Buffers = 4
	}
	// Non-blocking so that Next can wait in select with a timeout and
	// notice its context ending.
	fd, err := syscall.Open(dev, syscall.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	c := &V4L2{fd: fd, held: -1}
	if err := c.setup(cfg); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *V4L2) setup(cfg V4L2Config) error {
	var capb v4l2Capability
	if err := ioctl(c.fd, vidiocQueryCap, unsafe.Pointer(&capb)); err != nil {
		return fmt.Errorf("not a V4L2 device (VIDIOC_QUERYCAP: %w)", err)
	}
	caps := capb.Capabilities
	if caps&capDeviceCaps != 0 {
		caps = capb.DeviceCaps
	}
	if caps&capVideoCapture == 0 || caps&capStreaming == 0 {
		return fmt.Errorf("%s is not a streaming capture device (caps %#x)", cstr(capb.Card[:]), caps)
	}

	want := uint32(fourccYUYV)
	if cfg.Format == Grey {
		want = fourccGREY
	}
	f := v4l2Format{Type: bufTypeVideoCapture}
	f.Pix = v4l2PixFormat{Width: uint32(cfg.Width), Height: uint32(cfg.Height), PixelFormat: want, Field: fieldNone}
	if err := ioctl(c.fd, vidiocSFmt, unsafe.Pointer(&f)); err != nil {
		return fmt.Errorf("VIDIOC_S_FMT %dx%d %v: %w", cfg.Width, cfg.Height, cfg.Format, err)
	}
	// The driver answers with the nearest format it has.
	if f.Pix.PixelFormat != want {
		return fmt.Errorf("camera does not deliver %v (offers %q)", cfg.Format, fourcc(f.Pix.PixelFormat))
	}
	c.format = cfg.Format
	c.width, c.height = int(f.Pix.Width), int(f.Pix.Height)
	c.stride = int(f.Pix.BytesPerLine)
	if min := c.width * cfg.Format.BytesPerPixel(); c.stride < min {
		c.stride = min
	}

	req := v4l2RequestBuffers{Count: uint32(cfg.Buffers), Type: bufTypeVideoCapture, Memory: memoryMmap}
	if err := ioctl(c.fd, vidiocReqBufs, unsafe.Pointer(&req)); err != nil {
		return fmt.Errorf("VIDIOC_REQBUFS: %w", err)
	}
	if req.Count < 2 {
		return fmt.Errorf("VIDIOC_REQBUFS: %d buffers", req.Count)
	}
	for i := range req.Count {
		b := v4l2Buffer{Index: i, Type: bufTypeVideoCapture, Memory: memoryMmap}
		if err := ioctl(c.fd, vidiocQueryBuf, unsafe.Pointer(&b)); err != nil {
			return fmt.Errorf("VIDIOC_QUERYBUF %d: %w", i, err)
		}
		m, err := syscall.Mmap(c.fd, int64(uint32(b.M)), int(b.Length), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		if err != nil {
			return fmt.Errorf("mmap buffer %d: %w", i, err)
		}
		c.bufs = append(c.bufs, m)
	}
	for i := range c.bufs {
		if err := c.queue(i); err != nil {
			return err
		}
	}
	typ := int32(bufTypeVideoCapture)
	if err := ioctl(c.fd, vidiocStreamOn, unsafe.Pointer(&typ)); err != nil {
		return fmt.Errorf("VIDIOC_STREAMON: %w", err)
	}
	c.started = true
	return nil
}

func (c *V4L2) queue(i int) error {
	b := v4l2Buffer{Index: uint32(i), Type: bufTypeVideoCapture, Memory: memoryMmap}
	if err := ioctl(c.fd, vidiocQBuf, unsafe.Pointer(&b)); err != nil {
		return fmt.Errorf("VIDIOC_QBUF %d: %w", i, err)
	}
	return nil
}

// dequeue takes a filled buffer; ok is false when none is ready yet.
func (c *V4L2) dequeue() (b v4l2Buffer, ok bool, err error) {
	b = v4l2Buffer{Type: bufTypeVideoCapture, Memory: memoryMmap}
	err = ioctl(c.fd, vidiocDQBuf, unsafe.Pointer(&b))
	if err == syscall.EAGAIN {
		return b, false, nil
	}
	if err != nil {
		return b, false, fmt.Errorf("VIDIOC_DQBUF: %w", err)
	}
	if int(b.Index) >= len(c.bufs) {
		return b, false, fmt.Errorf("VIDIOC_DQBUF: buffer %d of %d", b.Index, len(c.bufs))
	}
	return b, true, nil
}

// Next returns the newest frame. Frames that queued up while the last one
// was decoded are skipped: a code should be read from what the camera
// sees now, not from what it saw a few hundred milliseconds ago.
func (c *V4L2) Next(ctx context.Context) (Frame, error) {
	if c.fd < 0 {
		return Frame{}, errClosed
	}
	if c.held >= 0 {
		if err := c.queue(c.held); err != nil {
			return Frame{}, err
		}
		c.held = -1
	}
	need := (c.height-1)*c.stride + c.width*c.format.BytesPerPixel()
	for {
		b, ok, err := c.dequeue()
		if err != nil {
			return Frame{}, err
		}
		if !ok {
			if err := c.wait(ctx); err != nil {
				return Frame{}, err
			}
			continue
		}
		// a newer frame waiting: give this one back and take that
		for {
			nb, ok, err := c.dequeue()
			if err != nil {
				return Frame{}, err
			}
			if !ok {
				break
			}
			if err := c.queue(int(b.Index)); err != nil {
				return Frame{}, err
			}
			b = nb
		}
		if b.Flags&bufFlagError != 0 || int(b.BytesUsed) < need && b.BytesUsed != 0 || len(c.bufs[b.Index]) < need {
			// a corrupt or short frame (USB hiccup): skip it
			if err := c.queue(int(b.Index)); err != nil {
				return Frame{}, err
			}
			continue
		}
		c.held = int(b.Index)
		return Frame{Width: c.width, Height: c.height, Stride: c.stride, Format: c.format, Pix: c.bufs[b.Index]}, nil
	}
}

// wait blocks until the device has a frame, for at most 100 ms, so that
// a cancelled context is noticed.
func (c *V4L2) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var rd syscall.FdSet
	bits := int(8 * unsafe.Sizeof(rd.Bits[0]))
	if c.fd >= bits*len(rd.Bits) { // past FD_SETSIZE: poll instead
		time.Sleep(5 * time.Millisecond)
		return ctx.Err()
	}
	rd.Bits[c.fd/bits] |= 1 << (uint(c.fd) % uint(bits))
	tv := syscall.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	_, err := syscall.Select(c.fd+1, &rd, nil, nil, &tv)
	if err != nil && err != syscall.EINTR {
		return fmt.Errorf("select: %w", err)
	}
	return ctx.Err()
}

// Size is the frame size the driver agreed to.
func (c *V4L2) Size() (width, height int) { return c.width, c.height }

// Close stops streaming and releases the buffers and the device.
func (c *V4L2) Close() error {
	if c.fd < 0 {
		return nil
	}
	if c.started {
		typ := int32(bufTypeVideoCapture)
		ioctl(c.fd, vidiocStreamOff, unsafe.Pointer(&typ))
	}
	var errs []error
	for _, b := range c.bufs {
		errs = append(errs, syscall.Munmap(b))
	}
	c.bufs = nil
	if c.started {
		// release the buffers in the driver too (count 0)
		req := v4l2RequestBuffers{Type: bufTypeVideoCapture, Memory: memoryMmap}
		ioctl(c.fd, vidiocReqBufs, unsafe.Pointer(&req))
	}
	errs = append(errs, syscall.Close(c.fd))
	c.fd = -1
	return errors.Join(errs...)
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func fourcc(v uint32) string {
	return string([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})
}

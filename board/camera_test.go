package board

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/drivers/camera"
)

// simCamera is the sim board with the camera scanner in place of the fake.
func simCamera(scanner string) string {
	base, _ := embedded.ReadFile("boards/sim.json")
	return strings.Replace(string(base), `"scanner": {"driver": "fake", "images": "testdata/codes"}`, `"scanner": {"driver": "camera", `+scanner+`}`, 1)
}

func TestValidateCameraScanner(t *testing.T) {
	for scanner, want := range map[string]string{
		`"device": "/dev/video0"`:                                                "",
		`"device": "/dev/video0", "width": 1280, "height": 720`:                  "",
		`"device": "/dev/video0", "format": "grey", "width": 641, "height": 480`: "",
		`"frames": "testdata/codes"`:                                             "",
		`"width": 640`:                                                           "scanner.device: missing",
		`"device": "/dev/video0", "frames": "x"`:                                 "scanner.frames: a camera takes a device or a frames directory, not both",
		`"frames": "x", "width": 640`:                                            "scanner.width: only with a device",
		`"frames": "x", "format": "grey"`:                                        "scanner.format: only with a device",
		`"device": "/dev/video0", "format": "rgb24"`:                             `scanner.format "rgb24": unknown (one of yuyv, grey)`,
		`"device": "/dev/video0", "width": 640`:                                  "scanner.height: missing (width is 640)",
		`"device": "/dev/video0", "height": 480`:                                 "scanner.width: missing (height is 480)",
		`"device": "/dev/video0", "width": 5000, "height": 480`:                  "scanner.width 5000: want 160-4096",
		`"device": "/dev/video0", "width": 640, "height": 100`:                   "scanner.height 100: want 120-4096",
		`"device": "/dev/video0", "width": 641, "height": 480`:                   "scanner.width 641: yuyv needs an even width",
		`"device": "/dev/video0", "width": "640", "height": 480`:                 "cannot unmarshal string",
		`"device": "/dev/video0", "port": "/dev/ttyS1"`:                          "scanner.port: only the uart driver takes it",
	} {
		src := simCamera(scanner)
		_, err := Parse([]byte(src))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: err = %v, want %q", scanner, err, want)
		}
	}
	base, _ := embedded.ReadFile("boards/sim.json")
	for _, field := range []string{`"device": "/dev/video0"`, `"frames": "x"`, `"width": 640`} {
		src := strings.Replace(string(base), `"images": "testdata/codes"`, `"images": "testdata/codes", `+field, 1)
		name := strings.Trim(strings.SplitN(field, ":", 2)[0], `"`)
		if _, err := Parse([]byte(src)); err == nil || !strings.Contains(err.Error(), "scanner."+name+": only the camera driver takes it") {
			t.Errorf("fake with %s: %v", field, err)
		}
	}
}

func TestOpenCameraScanner(t *testing.T) {
	d, err := Parse([]byte(simCamera(`"frames": "testdata/codes"`)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(d, Env{DataDir: t.TempDir(), Assets: "..", Headless: true})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := b.Devices.Scanner.(*camera.Scanner)
	if !ok || b.Fakes.Scanner != nil {
		t.Fatalf("scanner %T", b.Devices.Scanner)
	}
	if err := s.Enable(true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// the frames play in name order; the first is alipay-barcode.png
	if c, err := s.Read(ctx); err != nil || c.Text != "2812345678901234567" {
		t.Fatalf("read %+v %v", c, err)
	}
	b.Close() // stops the stream

	if _, err := Open(d, Env{DataDir: t.TempDir(), Assets: t.TempDir(), Headless: true}); err == nil || !strings.Contains(err.Error(), "scanner.frames") || !strings.Contains(err.Error(), "--assets") {
		t.Fatalf("missing frames: %v", err)
	}
	// a device is opened only when a screen arms the scanner
	d, _ = Parse([]byte(simCamera(`"device": "/dev/nonexistent-video"`)))
	b, err = Open(d, Env{DataDir: t.TempDir(), Assets: "..", Headless: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Devices.Scanner.Enable(true); err == nil || !strings.Contains(err.Error(), "camera /dev/nonexistent-video: ") {
		t.Fatalf("enable without the camera: %v", err)
	}
}

package main

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// writeCode draws a code with gozxing's writers into an image file,
// four pixels a module; dark inverts it (a phone in dark mode).
func writeCode(t *testing.T, path string, format gozxing.BarcodeFormat, text string, dark bool) {
	var m *gozxing.BitMatrix
	var err error
	if format == gozxing.BarcodeFormat_QR_CODE {
		hints := map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_CHARACTER_SET: "UTF-8"}
		m, err = qrcode.NewQRCodeWriter().Encode(text, format, 1, 1, hints)
	} else {
		m, err = oned.NewCode128Writer().Encode(text, format, 1, 30, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	const scale = 4
	img := image.NewGray(image.Rect(0, 0, m.GetWidth()*scale, m.GetHeight()*scale))
	for y := range img.Rect.Dy() {
		for x := range img.Rect.Dx() {
			if m.Get(x/scale, y/scale) == dark {
				img.Pix[y*img.Stride+x] = 255
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(f, img)
	}
	if err != nil {
		t.Fatal(err)
	}
}

const qrText = "https://qr.alipay.com/bax0?a=1&b=<2>\n第二行\tend\\"

func decodeFixtures(t *testing.T) (dir string, files []string) {
	dir = t.TempDir()
	writeCode(t, filepath.Join(dir, "qr.png"), gozxing.BarcodeFormat_QR_CODE, qrText, false)
	writeCode(t, filepath.Join(dir, "c128.jpg"), gozxing.BarcodeFormat_CODE_128, "6901234567892", false)
	writeCode(t, filepath.Join(dir, "dark.png"), gozxing.BarcodeFormat_QR_CODE, "2599887766554433", true)
	os.WriteFile(filepath.Join(dir, "notimage.png"), []byte("just text\n"), 0o644)
	for _, n := range []string{"qr.png", "c128.jpg", "dark.png", "notimage.png", "missing.png"} {
		files = append(files, filepath.Join(dir, n))
	}
	return dir, files
}

func TestDecodeCommand(t *testing.T) {
	dir, files := decodeFixtures(t)
	var out, errOut bytes.Buffer
	if code := run(append([]string{"decode"}, files...), &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1 (two files do not decode): %s", code, errOut.String())
	}
	want := strings.Join([]string{
		dir + "/qr.png\tQR_CODE\thttps://qr.alipay.com/bax0?a=1&b=<2>\\n第二行\\tend\\\\",
		dir + "/c128.jpg\tCODE_128\t6901234567892",
		dir + "/dark.png\tQR_CODE\t2599887766554433",
		dir + "/notimage.png\t-\tnot a PNG or JPEG image: image: unknown format",
		dir + "/missing.png\t-\tno such file or directory",
	}, "\n") + "\n"
	if out.String() != want || errOut.Len() != 0 {
		t.Fatalf("output:\n%s\nwant:\n%s\nstderr: %s", out.String(), want, errOut.String())
	}

	out.Reset()
	if code := run(append([]string{"decode", "--json"}, files...), &out, &errOut); code != 1 {
		t.Fatalf("--json: exit %d", code)
	}
	want = strings.Join([]string{
		`{"file":"` + dir + `/qr.png","symbology":"QR_CODE","text":"https://qr.alipay.com/bax0?a=1&b=<2>\n第二行\tend\\","error":""}`,
		`{"file":"` + dir + `/c128.jpg","symbology":"CODE_128","text":"6901234567892","error":""}`,
		`{"file":"` + dir + `/dark.png","symbology":"QR_CODE","text":"2599887766554433","error":""}`,
		`{"file":"` + dir + `/notimage.png","symbology":"","text":"","error":"not a PNG or JPEG image: image: unknown format"}`,
		`{"file":"` + dir + `/missing.png","symbology":"","text":"","error":"no such file or directory"}`,
	}, "\n") + "\n"
	if out.String() != want {
		t.Fatalf("--json output:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	if code := run([]string{"decode", files[1], files[2]}, &out, &errOut); code != 0 {
		t.Fatalf("all decoded: exit %d\n%s", code, out.String())
	}
}

func TestDecodeUsage(t *testing.T) {
	for _, args := range [][]string{{"decode"}, {"decode", "--json"}, {"decode", "--xml", "a.png"}, {"decode", "-h"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 || out.Len() != 0 || !strings.Contains(errOut.String(), "usage: pos decode [--json] IMAGE...") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out.String(), errOut.String())
		}
	}
	var out bytes.Buffer
	run([]string{"help"}, &out, &out)
	if !strings.Contains(out.String(), "\n  decode     read QR/Code 128 in image files       pos decode [--json] IMAGE...\n") {
		t.Fatalf("help: %s", out.String())
	}
	var errOut bytes.Buffer
	run([]string{"decode", "-h"}, &out, &errOut)
	for _, s := range []string{"FILE<TAB>SYMBOLOGY<TAB>TEXT", "FILE<TAB>-<TAB>ERROR", "always with the four keys", "Exit status: 0 if every file decoded, 1 if any did not, 2 on a usage error."} {
		if !strings.Contains(errOut.String(), s) {
			t.Errorf("decode -h lacks %q", s)
		}
	}
}

func TestEscapeField(t *testing.T) {
	if got := escapeField("a\\b\tc\rd\ne\x01f\x7f中\xff"); got != `a\\b\tc\rd\ne\x01f\x7f中\xff` {
		t.Fatalf("%s", got)
	}
}

module github.com/shoukuan/pos

go 1.26.8

require (
	github.com/makiuchi-d/gozxing v0.1.1
	github.com/nsf/termbox-go v1.1.2
)

require (
	github.com/clipperhouse/uax29/v2 v2.2.0 // indirect
	github.com/mattn/go-runewidth v0.0.19 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/xerrors v0.0.0-20200804184101-5ec99f83aff1 // indirect
)

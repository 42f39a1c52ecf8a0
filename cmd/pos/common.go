package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/terminal"
	"github.com/shoukuan/pos/board"
)

// common are the flags every terminal-starting command shares.
type common struct {
	board   string
	config  string
	dataDir string
	secrets string
	assets  string
}

func (c *common) register(fs *flag.FlagSet, defaultData string) {
	fs.StringVar(&c.board, "board", "sim", "board name ("+fmt.Sprint(board.Names())+") or board file")
	fs.StringVar(&c.config, "config", "", "configuration file (default: embedded defaults)")
	fs.StringVar(&c.dataDir, "data", defaultData, "data directory: journal, receipts, log")
	fs.StringVar(&c.secrets, "secrets", "", "directory of the device secret that seals the keys (default: the board's secrets setting)")
	fs.StringVar(&c.assets, "assets", "", "directory that relative board paths resolve against (default: working directory)")
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("pos "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// load reads the configuration and the board description: both are
// checked before any device is touched.
func (c *common) load() (config.Config, *board.Desc, error) {
	cfg, err := config.Load(c.config)
	if err != nil {
		return cfg, nil, err
	}
	desc, err := board.Load(c.board)
	return cfg, desc, err
}

// place is where the files go, once the board is known.
func (c *common) place(desc *board.Desc) (place, error) {
	return placeFor(desc, c.dataDir, c.secrets, c.assets)
}

func openLog(dataDir string) (*slog.Logger, io.Closer, error) {
	f, err := os.OpenFile(filepath.Join(dataDir, "pos.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log: %w", err)
	}
	return slog.New(slog.NewTextHandler(f, nil)), f, nil
}

func buildInfo() terminal.Build {
	return terminal.Build{Version: version, Commit: commit, Platform: platform()}
}

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/scenario"
)

func cmdScenario(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("scenario", stderr)
	var c common
	c.register(fs, "")
	stats := fs.Bool("stats", false, "print start-up time and memory as BENCH lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("scenario: name one or more script files")
	}
	cfg, desc, err := c.load()
	if err != nil {
		return err
	}
	failed := 0
	for i, path := range fs.Args() {
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		script, err := scenario.Parse(path, string(src))
		if err != nil {
			return err
		}
		dataDir := c.dataDir
		if dataDir == "" {
			// Each script starts on a fresh terminal unless told otherwise.
			dataDir, err = os.MkdirTemp("", "pos-scenario-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dataDir)
		} else if fs.NArg() > 1 {
			dataDir = filepath.Join(dataDir, fmt.Sprintf("%02d-%s", i, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))))
		}
		at, err := placeFor(desc, dataDir, c.secrets, c.assets)
		if err != nil {
			return err
		}
		scfg := cfg
		for _, o := range script.Config {
			if scfg, err = config.Overlay(scfg, []byte(o)); err != nil {
				return fmt.Errorf("%s: config: %w", path, err)
			}
		}
		r, err := startRig(rigOptions{cfg: scfg, desc: desc, at: at})
		if err != nil {
			return err
		}
		if *stats && i == 0 {
			if err := r.Settle(); err != nil {
				r.close()
				return err
			}
			fmt.Fprintf(stdout, "BENCH cold_start_to_signin %.1f ms\n", float64(time.Since(processStart).Microseconds())/1000)
			if kb, err := rssKB(); err == nil {
				fmt.Fprintf(stdout, "BENCH rss_after_start %d KiB\n", kb)
			}
		}
		runErr := script.Run(r)
		closeErr := r.close()
		switch {
		case runErr != nil:
			failed++
			fmt.Fprintf(stdout, "FAIL %s\n%v\n", path, runErr)
		case closeErr != nil:
			failed++
			fmt.Fprintf(stdout, "FAIL %s: shutdown: %v\n", path, closeErr)
		default:
			fmt.Fprintf(stdout, "ok   %s (%d steps)\n", path, len(script.Steps))
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", fs.NArg()-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d scenario(s) failed", failed)
	}
	return nil
}

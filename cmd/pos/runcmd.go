package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shoukuan/pos/app/bootslot"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/terminal"
	"github.com/shoukuan/pos/board"
	"github.com/shoukuan/pos/drivers/console"
)

func cmdRun(args []string, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	var c common
	c.register(fs, "posdata")
	headless := fs.Bool("headless", false, "no console: the board's fake devices only (tests, a terminal's trial run from a shell)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// How long each step of the start took, for the log: a slow boot is
	// found from there.
	began, lap := time.Now(), time.Now()
	var startup []any
	phase := func(name string) {
		startup = append(startup, name, time.Since(lap).Round(time.Millisecond).String())
		lap = time.Now()
	}
	cfg, desc, err := c.load()
	if err != nil {
		return err
	}
	at, err := c.place(desc)
	if err != nil {
		return err
	}
	if err := journal.SecureDir(c.dataDir); err != nil {
		return err
	}
	log, logFile, err := openLog(c.dataDir)
	if err != nil {
		return err
	}
	defer logFile.Close()
	st, err := openStack(cfg, desc, at, time.Now, log)
	if err != nil {
		log.Error("terminal not started", "err", err)
		if errors.Is(err, journal.ErrRefused) {
			return fmt.Errorf("%s %s / %s: %w", terminal.E902.Code, terminal.E902.Title.In(terminal.ZH), terminal.E902.Title.In(terminal.EN), err)
		}
		return err
	}
	defer st.close()
	phase("config_journal_host")

	env := board.Env{DataDir: c.dataDir, Assets: c.assets, Title: "POS 收款 " + desc.Name + " " + version, Headless: *headless}
	var con *console.Console
	if st.sim != nil {
		env.Panels = append(env.Panels, &phonePanel{sim: st.sim, console: &con})
	}
	b, err := board.Open(desc, env)
	if err != nil {
		return err
	}
	con = b.Console
	defer b.Close()
	phase("devices")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// New software on trial decides about itself before taking a payment.
	if err := trialOutcome(ctx, st, b, c.dataDir, log); err != nil {
		return err
	}
	phase("trial")
	notice, rolled := bootNotice(desc, c.dataDir)
	for _, r := range rolled {
		log.Warn("software slots", "notice", fmt.Sprintf("rolled back from %s to %s: %s", r.From, r.To, r.Reason))
	}
	if notice != "" {
		log.Warn("software slots", "notice", notice)
	}
	t, err := terminal.New(terminal.Options{Config: cfg, Devices: b.Devices, Journal: st.db, Build: buildInfo(), Log: log, Engine: st.eng, PINPad: st.client, Demo: st.demo,
		Checks: []terminal.Check{slotsCheck(desc, c.dataDir)}, USBDir: desc.USB, Notice: notice, RolledBack: rolled,
		Updater: newUpdater(cfg, desc, c.dataDir, st, log)})
	if err != nil {
		return err
	}
	if b.Console != nil {
		go func() {
			select {
			case <-b.Console.Done():
				stop()
			case <-ctx.Done():
			}
		}()
	}
	phase("terminal")
	log.Info("terminal started", append([]any{"version", version, "board", desc.Name, "in", time.Since(began).Round(time.Millisecond).String()}, startup...)...)
	err = t.Run(ctx)
	log.Info("terminal stopped", "err", err)
	if errors.Is(err, terminal.ErrRestart) {
		// pos boot starts it again at once, into the new software's trial.
		return &exitError{code: bootslot.ExitRestart, err: err}
	}
	return err
}

// Package fake holds a fake for every HAL device. Each fake is usable two
// ways: scripted from Go tests and the headless scenario runner, and
// interactively on the desktop simulator through the board's panels.
//
// Input fakes (keypad, scanner, card reader) count what they have queued
// and not yet seen consumed. An input counts as consumed only when the
// reader comes back for the next one, that is after the application has
// taken it in; so "every fake has nothing pending and the application loop
// is idle" is a race-free sign that the terminal has settled.
package fake

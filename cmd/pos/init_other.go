//go:build !linux

package main

import "io"

// Only a Linux terminal image starts pos as its first process.
func isFirstProcess() bool { return false }

func firstProcess(io.Writer) int { return 1 }

// Package iso8583 packs and unpacks the acquirer host messages of a China
// UnionPay (银联) style POS terminal: ISO 8583:1987 with BCD numerics, a
// single 64-bit bitmap, and a TCP frame of 2-byte length, TPDU and a 6-byte
// CUP header.
//
// Field layouts are data (a Spec per acquirer dialect); CUP is the first.
//
// Why not github.com/moov-io/iso8583: v0.23.2 (the version we could pin: later
// ones do not build for 32-bit ARM) was tried first. It has left-aligned BCD and 2-byte BCD LLL
// prefixes, but it cannot carry this dialect cleanly: it has no 'z' (track
// data, '=' as nibble D) encoder; its decoders accept non-zero or 0xF pad
// nibbles and a non-zero top nibble in LLL prefixes, so a packed message does
// not round-trip; its left-aligned BCD decoder reads the byte after the field
// and so fails when a binary field follows; with DisableAutoExpand a set bit
// 1 is silently dropped rather than rejected; and its errors carry no byte
// offset. Wrapping all of that would leave little of the library in use, so
// this package is a small codec of its own.
package iso8583

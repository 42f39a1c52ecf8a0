package hostsim

import (
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/shoukuan/pos/app/emv"
	"github.com/shoukuan/pos/app/iso8583"
)

// TestIssuerMasterKey is the simulated issuer's master key for
// application cryptograms; the virtual cards' keys were derived from it.
// It is a test key: no real card has a key derived from it.
func TestIssuerMasterKey() []byte {
	k, _ := hex.DecodeString("2315208C9110AD402315208C9110AD40")
	return k
}

// SendIssuerScript makes the next n approved chip sales carry an issuer
// script (72) for the card: a PUT DATA of a risk parameter, as issuers
// send to change a card's limits.
func (s *Server) SendIssuerScript(n int) {
	s.fmu.Lock()
	s.scripts = n
	s.fmu.Unlock()
}

// chipCheck is the issuer's check of a chip request's field 55: the ARQC
// must verify under the card's key and its ATC must be new. It returns
// the decline code ("" to go on) and the card's master key for the ARPC.
func (s *Server) chipCheck(tx *sql.Tx, req *request, pan string) (code string, icc emv.Data, mk []byte, err error) {
	raw, ok := req.m.GetBytes(55)
	if !ok {
		return "", nil, nil, nil
	}
	icc = emv.Data{}
	if err := icc.Flatten(raw); err != nil {
		s.log.Warn("hostsim: field 55 does not parse", "err", err)
		return rcInvalidTxn, nil, nil, nil
	}
	// The cryptogram must be over this request's amount and currency,
	// or a card's ARQC for ¥0.01 would authorise ¥10,000.
	amt, _ := req.m.Get(4)
	cur, _ := req.m.Get(49)
	if hex.EncodeToString(icc[0x9F02]) != amt || strings.TrimLeft(hex.EncodeToString(icc[0x5F2A]), "0") != strings.TrimLeft(cur, "0") {
		s.log.Warn("hostsim: field 55 amount or currency differs from the request", "pan", iso8583.MaskPAN(pan))
		return rcDoNotHonour, nil, nil, nil
	}
	psn := "00"
	if v, ok := req.m.Get(23); ok && len(v) == 3 {
		psn = v[1:]
	}
	mk, err = emv.DeriveICCMasterKey(s.o.IssuerMasterKey, pan, psn)
	if err != nil {
		return rcInvalidCard, nil, nil, nil
	}
	if cid := icc[0x9F27]; len(cid) != 1 || cid[0]&0xC0 != 0x80 {
		s.log.Warn("hostsim: field 55 is not an ARQC", "pan", iso8583.MaskPAN(pan))
		return rcDoNotHonour, nil, nil, nil
	}
	good, err := emv.VerifyARQC(mk, icc)
	if err != nil || !good {
		s.log.Warn("hostsim: ARQC does not verify", "pan", iso8583.MaskPAN(pan), "err", err)
		return rcDoNotHonour, nil, nil, nil
	}
	atcB := icc[0x9F36]
	atc := int(atcB[0])<<8 | int(atcB[1])
	var last int
	err = tx.QueryRow(`SELECT atc FROM chip_atc WHERE pan = ? AND psn = ?`, pan, psn).Scan(&last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return "", nil, nil, err
	case atc <= last:
		s.log.Warn("hostsim: ATC replayed", "pan", iso8583.MaskPAN(pan), "atc", atc, "last", last)
		return rcDoNotHonour, nil, nil, nil
	}
	if _, err := tx.Exec(`INSERT INTO chip_atc(pan, psn, atc) VALUES(?, ?, ?)
		ON CONFLICT(pan, psn) DO UPDATE SET atc = excluded.atc`, pan, psn, atc); err != nil {
		return "", nil, nil, err
	}
	return "", icc, mk, nil
}

// chipReply adds the issuer's answer for the card to an approval: 91
// (ARPC method 1 and the response code) and any issuer script.
func (s *Server) chipReply(reply *iso8583.Message, icc emv.Data, mk []byte) error {
	atc := icc[0x9F36]
	arpc, err := emv.ARPC(mk, uint16(atc[0])<<8|uint16(atc[1]), icc[0x9F26], []byte(rcApproved))
	if err != nil {
		return err
	}
	out := emv.Encode(0x91, arpc)
	s.fmu.Lock()
	script := s.scripts > 0
	if script {
		s.scripts--
	}
	s.fmu.Unlock()
	if script {
		cmd, _ := hex.DecodeString(strings.ReplaceAll("84DA9F5805 01 11223344", " ", ""))
		out = append(out, emv.Encode(0x72, append(emv.Encode(0x9F18, []byte{0, 0, 0, 1}), emv.Encode(0x86, cmd)...))...)
	}
	reply.SetBytes(55, out)
	return nil
}

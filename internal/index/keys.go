package index

import (
	"encoding/binary"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Key prefixes: the first byte of every key names its keyspace. The layouts
// are documented in docs/format/index.md; a golden test pins them.
const (
	pMeta          byte = 0x01 // 01 name                    -> meta value
	pFile          byte = 0x02 // 02 file# BE32              -> uvarint end offset scanned
	pHeader        byte = 0x03 // 03 hash(32)                -> headerRecord (every scanned header)
	pBlock         byte = 0x04 // 04 height BE32             -> blockRecord (best chain)
	pBlockHash     byte = 0x05 // 05 hash(32)                -> uvarint height (best chain)
	pDetached      byte = 0x06 // 06 hash(32)                -> blockRecord (standalone block)
	pDetachedH     byte = 0x07 // 07 height BE32 hash(32)    -> empty (standalone blocks by height)
	pHeld          byte = 0x0E // 0E nexttx BE64             -> uvarint held-from (a bulk path's commits; deleted at its end)
	pCommit        byte = 0x0F // 0F nexttx BE64             -> state + derive-from BE64 (a bulk path's commits; deleted at its end)
	pTx            byte = 0x10 // 10 txnum BE64              -> txRecord
	pTxID          byte = 0x11 // 11 txid[0:8] txnum BE64    -> empty (txid prefix index)
	pUTXO          byte = 0x12 // 12 txid(32) vout BE32      -> utxoRecord (best chain only)
	pSpend         byte = 0x13 // 13 outref BE64             -> uvarint inref
	pAddrKey       byte = 0x20 // 20 address key             -> uvarint addrid
	pAddr          byte = 0x21 // 21 addrid BE64             -> address key
	pAddrStats     byte = 0x22 // 22 addrid BE64             -> addrStats (merge operand)
	pAddrTx        byte = 0x23 // 23 addrid BE64 txnum BE64  -> addrTxRecord
	txIDPrefixSize      = 8
)

// DetachedBase is the first TxNum given to transactions of standalone
// blocks (--raw-block), so that best-chain numbers stay dense (B1).
const DetachedBase btc.TxNum = 1 << 39

func key1(p byte) []byte { return []byte{p} }

func keyMeta(name string) []byte { return append([]byte{pMeta}, name...) }

func keyFile(file uint32) []byte { return binary.BigEndian.AppendUint32([]byte{pFile}, file) }

func keyHash(p byte, h btc.Hash) []byte {
	k := make([]byte, 33)
	k[0] = p
	copy(k[1:], h[:])
	return k
}

func keyHeight(p byte, h btc.Height) []byte {
	return binary.BigEndian.AppendUint32([]byte{p}, uint32(h))
}

func keyDetachedH(h btc.Height, hash btc.Hash) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{pDetachedH}, uint32(h)), hash[:]...)
}

func appendU64(dst []byte, p byte, x uint64) []byte {
	dst = append(dst, p)
	return binary.BigEndian.AppendUint64(dst, x)
}

func keyTx(n btc.TxNum) []byte { return appendU64(make([]byte, 0, 9), pTx, uint64(n)) }

func keyCommit(n uint64) []byte { return appendU64(make([]byte, 0, 9), pCommit, n) }

func keyTxID(dst []byte, id btc.Hash, n btc.TxNum) []byte {
	dst = append(dst, pTxID)
	dst = append(dst, id[:txIDPrefixSize]...)
	return binary.BigEndian.AppendUint64(dst, uint64(n))
}

func keyUTXO(dst []byte, id btc.Hash, vout uint32) []byte {
	dst = append(dst, pUTXO)
	dst = append(dst, id[:]...)
	return binary.BigEndian.AppendUint32(dst, vout)
}

func keySpend(dst []byte, r btc.OutRef) []byte { return appendU64(dst, pSpend, uint64(r)) }

func keyAddrKey(dst []byte, k []byte) []byte { return append(append(dst, pAddrKey), k...) }

func keyAddr(dst []byte, id btc.AddrID) []byte { return appendU64(dst, pAddr, uint64(id)) }

func keyAddrStats(dst []byte, id btc.AddrID) []byte { return appendU64(dst, pAddrStats, uint64(id)) }

func keyAddrTx(dst []byte, id btc.AddrID, n btc.TxNum) []byte {
	dst = appendU64(dst, pAddrTx, uint64(id))
	return binary.BigEndian.AppendUint64(dst, uint64(n))
}

// prefixEnd returns the smallest key greater than every key starting with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

package btc

import (
	"fmt"
	"strings"
)

// Network holds what sleuth needs to know about one Bitcoin network: how its
// block files are framed and how its addresses are written.
type Network struct {
	// Name is the name used on the command line: mainnet, testnet3,
	// testnet4, signet or regtest.
	Name string
	// Magic is the 4-byte message start that frames every record in a
	// blk*.dat file, in file order (mainnet: f9 be b4 d9).
	Magic [4]byte
	// Genesis is the hash of the network's first block.
	Genesis Hash
	// PubKeyHashPrefix and ScriptHashPrefix are the base58check version
	// bytes of P2PKH and P2SH addresses.
	PubKeyHashPrefix byte
	ScriptHashPrefix byte
	// HRP is the bech32 human-readable part of segwit addresses.
	HRP string
	// PowLimitBits is the compact encoding of the easiest allowed target.
	PowLimitBits uint32
}

// The networks sleuth knows. Values agree with btcd's chaincfg/v2 and
// Bitcoin Core's chainparams.cpp.
var (
	Mainnet = &Network{
		Name:             "mainnet",
		Magic:            [4]byte{0xf9, 0xbe, 0xb4, 0xd9},
		Genesis:          MustParseHash("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"),
		PubKeyHashPrefix: 0x00,
		ScriptHashPrefix: 0x05,
		HRP:              "bc",
		PowLimitBits:     0x1d00ffff,
	}
	Testnet3 = &Network{
		Name:             "testnet3",
		Magic:            [4]byte{0x0b, 0x11, 0x09, 0x07},
		Genesis:          MustParseHash("000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943"),
		PubKeyHashPrefix: 0x6f,
		ScriptHashPrefix: 0xc4,
		HRP:              "tb",
		PowLimitBits:     0x1d00ffff,
	}
	Testnet4 = &Network{
		Name:             "testnet4",
		Magic:            [4]byte{0x1c, 0x16, 0x3f, 0x28},
		Genesis:          MustParseHash("00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043"),
		PubKeyHashPrefix: 0x6f,
		ScriptHashPrefix: 0xc4,
		HRP:              "tb",
		PowLimitBits:     0x1d00ffff,
	}
	Signet = &Network{
		Name:             "signet",
		Magic:            [4]byte{0x0a, 0x03, 0xcf, 0x40},
		Genesis:          MustParseHash("00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6"),
		PubKeyHashPrefix: 0x6f,
		ScriptHashPrefix: 0xc4,
		HRP:              "tb",
		PowLimitBits:     0x1e0377ae,
	}
	Regtest = &Network{
		Name:             "regtest",
		Magic:            [4]byte{0xfa, 0xbf, 0xb5, 0xda},
		Genesis:          MustParseHash("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"),
		PubKeyHashPrefix: 0x6f,
		ScriptHashPrefix: 0xc4,
		HRP:              "bcrt",
		PowLimitBits:     0x207fffff,
	}
)

// Networks lists the known networks in the order help text shows them.
var Networks = []*Network{Mainnet, Testnet3, Testnet4, Signet, Regtest}

// NetworkByName returns the network called name.
func NetworkByName(name string) (*Network, error) {
	for _, n := range Networks {
		if n.Name == name {
			return n, nil
		}
	}
	names := make([]string, len(Networks))
	for i, n := range Networks {
		names[i] = n.Name
	}
	return nil, fmt.Errorf("unknown network %q (want one of %s)", name, strings.Join(names, ", "))
}

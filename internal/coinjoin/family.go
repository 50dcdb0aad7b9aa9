package coinjoin

import (
	"fmt"
	"strings"
)

// Family is a set of detector families, one bit each. Clustering can
// switch any family off (cluster.Config.Off), and `sleuth eval clusters
// --families` switches each off in turn, so that every family is measured
// as a chain would meet it if that family did not exist: an unknown shape.
// The bit values are stored in the clustering's config: never reorder.
type Family uint16

const (
	// Protocol detectors, each written from one coordinator's rules.
	FamWhirlpool Family = 1 << iota
	FamWasabi2
	FamWasabi1
	FamJoinMarket
	// FamGeneric is BlockSci's and GraphSense's equal-output rule.
	FamGeneric
	// General tests of value structure, tied to no participant-count
	// formula and no coordinator (collaborative.go).
	FamEqualOutputs
	FamDenominations
	// General tests of input structure. They need what the clustering
	// knows before the transaction (which entity each input belongs to),
	// so package cluster applies them; the rules and their sources are
	// documented here (InputStructure).
	FamInputEntities
	FamScriptMix
	// FamGuard is the multi-input supercluster guard (package cluster):
	// not a detector of shapes, but a family that can be switched off in
	// the same way.
	FamGuard
	// FamFan is the fan-in/fan-out test of input structure (InputRules):
	// inputs from many entities paying many outputs.
	FamFan
	numFamilies = 11
)

// AllFamilies has every family on: the default.
const AllFamilies Family = 1<<numFamilies - 1

// ProtocolFamilies are the detectors written from known protocols and the
// literature's equal-output rule; GeneralFamilies are the tests that must
// hold on shapes nobody catalogued.
const (
	ProtocolFamilies = FamWhirlpool | FamWasabi2 | FamWasabi1 | FamJoinMarket | FamGeneric
	GeneralFamilies  = FamEqualOutputs | FamDenominations | FamInputEntities | FamScriptMix | FamFan | FamGuard
)

var familyNames = [numFamilies]string{"whirlpool", "wasabi2", "wasabi1", "joinmarket", "generic",
	"equal_outputs", "denominations", "input_entities", "script_mix", "guard", "fan"}

// Families lists every family in bit order.
func Families() []Family {
	fs := make([]Family, numFamilies)
	for i := range fs {
		fs[i] = 1 << i
	}
	return fs
}

// String returns the names of the set bits joined by "+" ("none" when
// empty).
func (f Family) String() string {
	if f == 0 {
		return "none"
	}
	var parts []string
	for i := 0; i < numFamilies; i++ {
		if f&(1<<i) != 0 {
			parts = append(parts, familyNames[i])
		}
	}
	return strings.Join(parts, "+")
}

// ParseFamilies reads a comma-separated list of family names; "protocol"
// and "general" name the two groups, "all" every family.
func ParseFamilies(s string) (Family, error) {
	var f Family
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		switch name {
		case "":
			continue
		case "all":
			f |= AllFamilies
			continue
		case "protocol":
			f |= ProtocolFamilies
			continue
		case "general":
			f |= GeneralFamilies
			continue
		}
		found := false
		for i, n := range familyNames {
			if n == name {
				f |= 1 << i
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown detector family %q (want protocol, general, all or one of %s)", name, strings.Join(familyNames[:], ", "))
		}
	}
	return f, nil
}

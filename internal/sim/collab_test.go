package sim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// TestCollabWorldVaries: the collaborative world is drawn from the seed.
// Every drawn parameter lies in its documented range, two seeds give
// different coordinators, and over a few seeds every denomination policy,
// ordering, fee choice and script-type choice occurs.
func TestCollabWorldVaries(t *testing.T) {
	seen := map[string]bool{}
	worlds := map[int64]collabWorld{}
	for seed := int64(1); seed <= 40; seed++ {
		cw := drawCollab(seed)
		worlds[seed] = cw
		if !reflect.DeepEqual(cw, drawCollab(seed)) {
			t.Fatalf("seed %d: two draws differ", seed)
		}
		if n := len(cw.Coords); n < 1 || n > 3 {
			t.Fatalf("seed %d: %d coordinators, want 1..3", seed, n)
		}
		for _, c := range cw.Coords {
			checks := []struct {
				what string
				ok   bool
			}{
				{"participants in 5..400", c.MinParts >= collabMinParts && c.MinParts <= c.MaxParts && c.MaxParts <= collabMaxParts},
				{"inputs per participant in 1..8", c.MaxInputs >= 1 && c.MaxInputs <= 8},
				{"equal outputs per participant in 1..6", c.MaxPerDenom >= 1 && c.MaxPerDenom <= 6},
				{"outputs per participant", c.MaxOuts >= c.MaxPerDenom && c.MaxOuts <= 10},
				{"fee rate only with a fee output", (c.FeeRate > 0) == c.FeeOutput && c.FeeRate <= 0.005},
				{"active for a while", c.end-c.start >= 2*365*86400 && c.start >= calStart && c.end <= calEnd},
				{"rate", c.RoundsPerTx >= 0.0015 && c.RoundsPerTx <= 0.004},
				{"denominations", (c.Policy == dpSingle) == (len(c.Denoms) == 1) && (c.Policy != dpSet || len(c.Denoms) >= 2) &&
					(c.Policy != dpStandard || len(c.std) > 10 && c.std[len(c.std)-1] >= stdDenomMin) &&
					(c.Policy != dpArbitrary || c.ArbitraryLo > 0 && c.ArbitraryHi > c.ArbitraryLo)},
				{"P2TR outputs after taproot", c.outType != stP2TR || c.start >= taprootDate},
			}
			for _, ch := range checks {
				if !ch.ok {
					t.Errorf("seed %d coordinator %d: %s: %+v", seed, c.ID, ch.what, c)
				}
			}
			seen["policy="+c.Policy] = true
			seen["out_order="+c.OutputOrder] = true
			seen["in_type="+c.InputType] = true
			seen["out_type="+c.OutputType] = true
			seen["fee="+strconv.FormatBool(c.FeeOutput)] = true
			seen["multi_equal="+strconv.FormatBool(c.MaxPerDenom > 1)] = true
			seen["several_denoms="+strconv.FormatBool(c.MultiLevel)] = true
		}
		if b := cw.Batch; b.MaxPayers < 3 || b.MaxPayers > 8 || b.PerTx <= 0 || cw.Payjoin.PerTx <= 0 {
			t.Errorf("seed %d: batch or payjoin parameters out of range: %+v", seed, cw)
		}
	}
	for _, want := range []string{"policy=single", "policy=set", "policy=standard", "policy=arbitrary",
		"out_order=random", "out_order=ascending", "out_order=descending", "out_order=bip69",
		"in_type=mixed", "in_type=p2wpkh", "out_type=mixed", "out_type=p2wpkh", "out_type=p2tr",
		"fee=true", "fee=false", "multi_equal=true", "multi_equal=false", "several_denoms=true", "several_denoms=false"} {
		if !seen[want] {
			t.Errorf("no coordinator with %s in 40 seeds", want)
		}
	}
	for _, pair := range [][2]int64{{1, 2}, {2, 3}, {7, 8}} {
		a, b := worlds[pair[0]], worlds[pair[1]]
		if reflect.DeepEqual(a.Coords, b.Coords) || a.Payjoin == b.Payjoin || a.Batch == b.Batch {
			t.Errorf("seeds %d and %d draw the same collaborative parameters", pair[0], pair[1])
		}
	}
}

// TestCollabVolume: at scale 1 every unknown coordinator runs several
// rounds within its drawn participant range, and there are dozens of
// PayJoins and collaborative batches; truth/coordinators.json holds the
// drawn parameters, and the kind mix differs between seeds.
func TestCollabVolume(t *testing.T) {
	if testing.Short() {
		t.Skip("scale-1 chains")
	}
	mixes := map[string]bool{}
	for _, seed := range []int64{1, 2, 3} {
		t.Run(strconv.FormatInt(seed, 10), func(t *testing.T) {
			out, sum := run(t, Options{Seed: seed, Scale: 1})
			var cw collabWorld
			data, err := os.ReadFile(filepath.Join(out, "truth", "coordinators.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &cw); err != nil {
				t.Fatal(err)
			}
			want := drawCollab(seed)
			if len(cw.Coords) != len(want.Coords) || cw.Payjoin != want.Payjoin || cw.Batch != want.Batch {
				t.Fatalf("coordinators.json does not hold the drawn parameters:\n%s", data)
			}
			rounds := make([]int, len(cw.Coords))
			kinds := map[string]int{}
			for _, r := range readCSV(t, filepath.Join(out, "truth", "coinjoins.csv")) {
				kinds[r[2]]++
				coord, _ := strconv.Atoi(r[8])
				if (r[2] == "coinjoin_unknown") != (coord >= 0) {
					t.Fatalf("coinjoins.csv row %v: coord %d for kind %s", r, coord, r[2])
				}
				if coord < 0 {
					continue
				}
				if coord >= len(cw.Coords) {
					t.Fatalf("coinjoins.csv row %v: no coordinator %d", r, coord)
				}
				rounds[coord]++
				c := &want.Coords[coord]
				lo, hi := c.roundSize(makePlan(1).users())
				parts, _ := strconv.Atoi(r[4])
				nEqual, _ := strconv.Atoi(r[7])
				if parts < lo || parts > hi {
					t.Errorf("round %s of coordinator %d has %d participants, range %d..%d", r[0], coord, parts, lo, hi)
				}
				if !c.MultiLevel && nEqual > parts*c.MaxPerDenom {
					t.Errorf("round %s: %d equal outputs for %d participants, at most %d each", r[0], nEqual, parts, c.MaxPerDenom)
				}
			}
			for i, n := range rounds {
				if n < 3 {
					t.Errorf("coordinator %d ran %d rounds, want several", i, n)
				}
			}
			if kinds["payjoin"] < 20 || kinds["collab_batch"] < 20 {
				t.Errorf("%d payjoins and %d collaborative batches, want dozens", kinds["payjoin"], kinds["collab_batch"])
			}
			for _, k := range []string{"coinjoin_unknown", "payjoin", "collab_batch"} {
				if int64(kinds[k]) != sum.Counts[k] {
					t.Errorf("%s: %d in coinjoins.csv, summary counts %d", k, kinds[k], sum.Counts[k])
				}
			}
			mixes[strconv.Itoa(kinds["coinjoin_unknown"])+"/"+strconv.Itoa(kinds["payjoin"])+"/"+strconv.Itoa(kinds["collab_batch"])] = true
			t.Logf("seed %d: rounds per coordinator %v, %d payjoins, %d batches", seed, rounds, kinds["payjoin"], kinds["collab_batch"])
		})
	}
	if len(mixes) < 2 {
		t.Errorf("three seeds gave the same mix of collaborative transactions: %v", mixes)
	}
}

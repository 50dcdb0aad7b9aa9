package sim

import (
	"math"
	"math/rand/v2"
	"time"
)

// Calendar anchors. The regular (non-bootstrap) blocks of every chain span
// [calStart, calEnd); behaviours switch on the simulated date, not on the
// height, so a small chain still walks through every era (see SIMULATOR.md,
// "Time").
var (
	calStart       = date(2016, 1, 1)
	calEnd         = date(2024, 1, 1)
	segwitDate     = date(2017, 8, 24)  // BIP141 activation on mainnet
	taprootDate    = date(2021, 11, 14) // BIP341 activation on mainnet
	wasabiDate     = date(2018, 10, 31) // Wasabi Wallet 1.0
	whirlpoolDate  = date(2019, 6, 1)   // Samourai Whirlpool on mainnet
	whirlpool001   = date(2021, 5, 1)   // 0.001 BTC pool
	jmNativeDate   = date(2021, 1, 1)   // JoinMarket default native segwit
	theftDate      = date(2017, 4, 22)  // Yapizon hot-wallet theft
	ransomStart    = date(2017, 5, 12)  // WannaCry outbreak
	ransomPayEnd   = date(2017, 6, 20)  // last modelled ransom payment
	ransomCashout  = date(2017, 8, 3)   // WannaCry wallets emptied
	launderEnd     = date(2017, 12, 31) // end of the first laundering wave
	lateMixStart   = date(2019, 7, 1)   // dormant stolen coins go through CoinJoins
	lateMixEnd     = date(2020, 12, 31) // end of the second laundering wave
	exchSegwitDate = date(2018, 3, 1)   // exchanges move deposits to P2SH-P2WPKH
	exchNativeDate = date(2020, 6, 1)   // exchanges move deposits to P2WPKH
	coldWSHDate    = date(2019, 1, 1)   // new cold storage is P2WSH
)

func date(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
}

// pricePoints are approximate USD/BTC prices at the start of each quarter
// from 2016Q1 to 2024Q1 (rounded; used only to turn dollar amounts into
// plausible satoshi amounts).
var pricePoints = [...]float64{
	430, 420, 650, 610, // 2016
	970, 1080, 2500, 4300, // 2017
	13500, 6900, 6400, 6600, // 2018
	3800, 4100, 10800, 8300, // 2019
	7200, 6600, 9100, 10800, // 2020
	29000, 58000, 35000, 44000, // 2021
	47000, 45000, 19500, 19400, // 2022
	16600, 28500, 30500, 27000, // 2023
	42000, // 2024Q1
}

// priceAt returns the interpolated USD price of one BTC at unix time t.
func priceAt(t int64) float64 {
	q := float64(t-calStart) / (365.25 * 86400 / 4)
	if q <= 0 {
		return pricePoints[0]
	}
	i := int(q)
	if i >= len(pricePoints)-1 {
		return pricePoints[len(pricePoints)-1]
	}
	f := q - float64(i)
	return pricePoints[i]*(1-f) + pricePoints[i+1]*f
}

// feeMedians are median fee rates (sat/vB) per calendar year 2016..2023.
var feeMedians = [...]float64{60, 120, 12, 12, 25, 30, 8, 20}

func yearIndex(t int64) int {
	y := time.Unix(t, 0).UTC().Year() - 2016
	return max(0, min(y, 7))
}

// rng wraps a PCG generator with the distributions the simulator needs.
type rng struct{ *rand.Rand }

func newRNG(seed int64, stream uint64) rng {
	return rng{rand.New(rand.NewPCG(uint64(seed), stream^0x9e3779b97f4a7c15))}
}

// chance reports true with probability p.
func (r rng) chance(p float64) bool { return r.Float64() < p }

// between returns a uniform integer in [lo, hi].
func (r rng) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}

// logNormal returns exp(N(ln(median), sigma)).
func (r rng) logNormal(median, sigma float64) float64 {
	return median * math.Exp(r.NormFloat64()*sigma)
}

// logUniform returns a value whose logarithm is uniform in [ln lo, ln hi].
func (r rng) logUniform(lo, hi float64) float64 {
	return lo * math.Exp(r.Float64()*math.Log(hi/lo))
}

// feeRate returns a fee rate in sat/vB for a transaction at time t.
func (r rng) feeRate(t int64) float64 {
	f := r.logNormal(feeMedians[yearIndex(t)], 0.7)
	return math.Max(1.01, math.Min(f, 1500))
}

// roundSats rounds v to two significant decimal digits (the "round amount"
// habit of human senders).
func roundSats(v int64) int64 {
	if v < 100 {
		return v
	}
	p := int64(1)
	for v/p >= 100 {
		p *= 10
	}
	return (v + p/2) / p * p
}

// usdToSats converts a dollar amount to satoshis at time t.
func usdToSats(usd float64, t int64) int64 {
	return int64(usd / priceAt(t) * 1e8)
}

// pickWeighted returns an index drawn with probability proportional to w.
func (r rng) pickWeighted(w []float64) int {
	var sum float64
	for _, x := range w {
		sum += x
	}
	x := r.Float64() * sum
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}

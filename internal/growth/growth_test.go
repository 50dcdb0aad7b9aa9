package growth

import (
	"math"
	"testing"
)

// TestFitRecovers: samples drawn from each model give back its parameters
// (G1), and Total matches the closed-form integral (G2).
func TestFitRecovers(t *testing.T) {
	for _, tc := range []struct {
		name string
		fit  func([]Sample) (Fit, error)
		f    func(n float64) float64
		a, b float64
	}{
		{"log", FitLog, func(n float64) float64 { return 5e-6 + 2e-6*math.Log(n) }, 5e-6, 2e-6},
		{"power", FitPower, func(n float64) float64 { return 1e-7 * math.Pow(n, 0.25) }, 1e-7, 0.25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s []Sample
			for n := 1e5; n <= 1e7; n *= 1.3 {
				s = append(s, Sample{n, tc.f(n)})
			}
			got, err := tc.fit(s)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got.A-tc.a)/tc.a > 1e-6 || math.Abs(got.B-tc.b)/math.Abs(tc.b) > 1e-6 || got.R2 < 0.999999 {
				t.Fatalf("fit %v, want a=%g b=%g", got, tc.a, tc.b)
			}
		})
	}
	// ∫ a + b ln n dn = a n + b (n ln n − n)
	f := Fit{Model: "log", A: 5e-6, B: 2e-6}
	want := func(n float64) float64 { return 5e-6*n + 2e-6*(n*math.Log(n)-n) }
	if got, w := f.Total(1e3, 1.3e9), want(1.3e9)-want(1e3); math.Abs(got-w)/w > 1e-6 {
		t.Fatalf("Total %g, closed form %g", got, w)
	}
}

// TestProjectPessimistic: a curve flat over the samples projects no
// faster than its worse model, and too few samples is an error.
func TestProjectPessimistic(t *testing.T) {
	var s []Sample
	for n := 1e6; n <= 1e7; n += 1e6 {
		s = append(s, Sample{n, 2e-5 + 1e-6*math.Log(n)})
	}
	p, err := Project(s, 1.3e9)
	if err != nil {
		t.Fatal(err)
	}
	if p.PessimisticTot < p.LogTotal || p.PessimisticTot < p.PowerTotal {
		t.Fatalf("pessimistic %g below a model (%g, %g)", p.PessimisticTot, p.LogTotal, p.PowerTotal)
	}
	if _, err := Project(s[:2], 1e9); err == nil {
		t.Fatal("two samples projected")
	}
}

// TestProjectAverage: whole-run averages measured at a few sizes (a stage
// from scratch on chains of 1M, 3M, 10M, 43M transactions) project to n
// times the fitted average at n, by each model, and the pessimistic one
// is the larger. A stage whose average cost per item is flat projects
// linearly; one whose average grows as n^0.2 projects that growth.
func TestProjectAverage(t *testing.T) {
	sizes := []float64{1e6, 3e6, 1e7, 4.3e7}
	for _, tc := range []struct {
		name string
		avg  func(n float64) float64
	}{
		{"flat", func(float64) float64 { return 1e-5 }},
		{"log", func(n float64) float64 { return 2e-6 + 1e-6*math.Log(n) }},
		{"power", func(n float64) float64 { return 1e-7 * math.Pow(n, 0.2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s []Sample
			for _, n := range sizes {
				s = append(s, Sample{n, tc.avg(n)})
			}
			p, err := ProjectAverage(s, 1.3e9)
			if err != nil {
				t.Fatal(err)
			}
			want := 1.3e9 * tc.avg(1.3e9)
			exact := p.LogTotal
			if tc.name == "power" {
				exact = p.PowerTotal
			}
			if math.Abs(exact-want)/want > 1e-6 {
				t.Fatalf("%s model projects %g, want %g", tc.name, exact, want)
			}
			if p.PessimisticTot != math.Max(p.LogTotal, p.PowerTotal) || p.PessimisticTot < want*(1-1e-6) {
				t.Fatalf("pessimistic %g of %g and %g, want at least %g", p.PessimisticTot, p.LogTotal, p.PowerTotal, want)
			}
		})
	}
	if _, err := ProjectAverage([]Sample{{1e6, 1}, {1e7, 2}}, 1e9); err == nil {
		t.Fatal("two sizes projected")
	}
}

// TestAt: an amount measured at a few sizes is projected by the larger of
// the two fits: a constant stays constant, n^b grows so, and ln n, which
// both fit over the samples, is projected by the power fit, the faster.
func TestAt(t *testing.T) {
	sizes := []float64{1e6, 3e6, 1e7, 4.3e7}
	for _, tc := range []struct {
		name  string
		f     func(n float64) float64
		model string
	}{
		{"constant", func(float64) float64 { return 900 }, ""},
		// ln n is fitted exactly by the log model, and nearly by a small
		// power that grows faster beyond the samples: that one is taken.
		{"log", func(n float64) float64 { return 100 + 50*math.Log(n) }, "power"},
		{"power", func(n float64) float64 { return 3 * math.Pow(n, 0.3) }, "power"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s []Sample
			for _, n := range sizes {
				s = append(s, Sample{n, tc.f(n)})
			}
			f, v, err := At(s, 1.3e9)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.f(1.3e9)
			if tc.name == "log" {
				l, _ := FitLog(s)
				if math.Abs(l.Cost(1.3e9)-want)/want > 1e-6 || v < want {
					t.Fatalf("log fit %v gives %g at 1.3e9, At %g, want %g from it and At at least that", l, l.Cost(1.3e9), v, want)
				}
				want = v
			}
			if math.Abs(v-want)/want > 1e-6 || tc.model != "" && f.Model != tc.model {
				t.Fatalf("At = %g by %v, want %g by %s", v, f, want, tc.model)
			}
		})
	}
}

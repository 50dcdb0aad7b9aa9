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

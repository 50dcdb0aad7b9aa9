package growth

import (
	"fmt"
	"math"
)

// Sample is the cost per item measured around store size N.
type Sample struct{ N, Cost float64 }

// Fit is a fitted cost curve.
type Fit struct {
	Model string  // "log" (a + b·ln n) or "power" (a·n^b)
	A, B  float64 // the model's parameters
	R2    float64 // coefficient of determination on the samples
}

// Cost is the fitted per-item cost at size n.
func (f Fit) Cost(n float64) float64 {
	n = math.Max(n, 1)
	if f.Model == "power" {
		return f.A * math.Pow(n, f.B)
	}
	return math.Max(f.A+f.B*math.Log(n), 0)
}

// Total integrates Cost over [n0, n1] (G2), in log-spaced steps.
func (f Fit) Total(n0, n1 float64) float64 {
	n0 = math.Max(n0, 1)
	if n1 <= n0 {
		return 0
	}
	const steps = 2000
	r := math.Pow(n1/n0, 1.0/steps)
	total, a := 0.0, n0
	for i := 0; i < steps; i++ {
		b := a * r
		total += (b - a) * (f.Cost(a) + 4*f.Cost((a+b)/2) + f.Cost(b)) / 6
		a = b
	}
	return total
}

func (f Fit) String() string {
	if f.Model == "power" {
		return fmt.Sprintf("%.3g·n^%.3f (R² %.2f)", f.A, f.B, f.R2)
	}
	return fmt.Sprintf("%.3g %+.3g·ln n (R² %.2f)", f.A, f.B, f.R2)
}

// FitLog fits cost = a + b·ln n by least squares.
func FitLog(s []Sample) (Fit, error) {
	xs, ys := make([]float64, 0, len(s)), make([]float64, 0, len(s))
	for _, p := range s {
		if p.N > 0 && p.Cost > 0 {
			xs, ys = append(xs, math.Log(p.N)), append(ys, p.Cost)
		}
	}
	a, b, err := line(xs, ys)
	if err != nil {
		return Fit{}, err
	}
	f := Fit{Model: "log", A: a, B: b}
	f.R2 = r2(s, f)
	return f, nil
}

// FitPower fits cost = a·n^b by least squares on ln cost against ln n.
func FitPower(s []Sample) (Fit, error) {
	xs, ys := make([]float64, 0, len(s)), make([]float64, 0, len(s))
	for _, p := range s {
		if p.N > 0 && p.Cost > 0 {
			xs, ys = append(xs, math.Log(p.N)), append(ys, math.Log(p.Cost))
		}
	}
	a, b, err := line(xs, ys)
	if err != nil {
		return Fit{}, err
	}
	f := Fit{Model: "power", A: math.Exp(a), B: b}
	f.R2 = r2(s, f)
	return f, nil
}

// Projection is the time (or amount) to reach a size by both models.
type Projection struct {
	Log, Power     Fit
	LogTotal       float64
	PowerTotal     float64
	Pessimistic    Fit
	PessimisticTot float64
}

// Project fits both models and integrates each from 0 to n.
func Project(s []Sample, n float64) (Projection, error) {
	return project(s, func(f Fit) float64 { return f.Total(1, n) })
}

// project fits both models and totals each with total, the larger taken
// as the pessimistic one.
func project(s []Sample, total func(Fit) float64) (Projection, error) {
	var p Projection
	var err error
	if p.Log, err = FitLog(s); err != nil {
		return p, err
	}
	if p.Power, err = FitPower(s); err != nil {
		return p, err
	}
	p.LogTotal, p.PowerTotal = total(p.Log), total(p.Power)
	p.Pessimistic, p.PessimisticTot = p.Log, p.LogTotal
	if p.PowerTotal > p.LogTotal {
		p.Pessimistic, p.PessimisticTot = p.Power, p.PowerTotal
	}
	return p, nil
}

// line fits y = a + b·x.
func line(xs, ys []float64) (a, b float64, err error) {
	n := float64(len(xs))
	if len(xs) < 3 {
		return 0, 0, fmt.Errorf("growth: %d usable samples, need 3", len(xs))
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0, 0, fmt.Errorf("growth: samples at a single size")
	}
	b = (n*sxy - sx*sy) / d
	return (sy - b*sx) / n, b, nil
}

func r2(s []Sample, f Fit) float64 {
	var mean float64
	for _, p := range s {
		mean += p.Cost
	}
	mean /= float64(len(s))
	var res, tot float64
	for _, p := range s {
		d := p.Cost - f.Cost(p.N)
		res += d * d
		tot += (p.Cost - mean) * (p.Cost - mean)
	}
	if tot == 0 {
		return 1
	}
	return 1 - res/tot
}

// ProjectAverage is Project for costs measured as a whole run's average
// per item at several store sizes (a stage run from scratch on chains of
// different lengths): each model is fitted to the averages, and a total
// to size n is n times the fitted average at n, not an integral.
func ProjectAverage(s []Sample, n float64) (Projection, error) {
	return project(s, func(f Fit) float64 { return n * f.Cost(n) })
}

// At fits both models to amounts measured at several sizes (a peak RSS, a
// store's bytes per item) and returns the larger of their values at n and
// the fit that gave it.
func At(s []Sample, n float64) (Fit, float64, error) {
	l, err := FitLog(s)
	if err != nil {
		return Fit{}, 0, err
	}
	p, err := FitPower(s)
	if err != nil {
		return Fit{}, 0, err
	}
	if p.Cost(n) > l.Cost(n) {
		return p, p.Cost(n), nil
	}
	return l, l.Cost(n), nil
}

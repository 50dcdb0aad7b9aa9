package main

import (
	"encoding/json"
	"fmt"
	"os"
)

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// btcString formats satoshis as BTC with 8 decimals.
func btcString(sat int64) string {
	sign := ""
	if sat < 0 {
		sign, sat = "-", -sat
	}
	return fmt.Sprintf("%s%d.%08d BTC", sign, sat/100_000_000, sat%100_000_000)
}

func optBTC(sat *int64) string {
	if sat == nil {
		return "unknown"
	}
	return btcString(*sat)
}

func optString(s *string, none string) string {
	if s == nil {
		return none
	}
	return *s
}

func optHeight(h *int64) string {
	if h == nil {
		return "unknown height"
	}
	return fmt.Sprint(*h)
}

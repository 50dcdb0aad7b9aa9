package tagpack

import (
	"encoding/json"
	"regexp"
	"strings"
)

// A tag's context may carry free-form "tags" (crawled darknet categories,
// say). The tool maps them to concepts with a fixed table and a few
// patterns (concept_mapping.py) and adds the results to the tag's concepts;
// this is the same mapping. Patterns use Python's re.match, which anchors at
// the start only, hence the leading ^.

var conceptMap = map[string]string{
	"financial crime":            "financial_crime",
	"file sharing":               "filesharing",
	"child sexual abuse":         "child_sexual_abuse",
	"money laundering":           "money_laundering",
	"gambling":                   "gambling",
	"ponzi scheme":               "ponzi_scheme",
	"violent crime":              "violence",
	"index":                      "index",
	"wallet service":             "wallet_service",
	"torture":                    "torture",
	"messaging service":          "messaging_service",
	"private keys":               "financial_crime",
	"hacked accounts":            "account_hack",
	"sextortion":                 "sextortion",
	"extortion":                  "extortion",
	"mining":                     "mining_service",
	"exploits":                   "exploit",
	"scam":                       "scam",
	"market":                     "market",
	"hacking":                    "hacking",
	"search engine":              "search_engine",
	"social engineering":         "social_engineering",
	"leaked data":                "data_breach",
	"mixing service":             "mixing_service",
	"exchange":                   "exchange",
	"extremism":                  "extremism",
	"malware":                    "malware",
	"ddos":                       "hacking",
	"vpn provider":               "vpn",
	"darkbat market":             "market",
	"atm hacking":                "hacking",
	"human trafficking":          "human_trafficking",
	"single vendor shop (fraud)": "market",
	"fraud":                      "abuse",
	"hurtcore":                   "violence",
	"coin swap":                  "mining_service",
	"casino":                     "gambling",
	"under market 2.0":           "market",
	"bank accounts":              "financial_crime",
	"exit scam":                  "scam",
	"gore":                       "violence",
}

var conceptPatterns = []struct {
	re      *regexp.Regexp
	concept string
}{
	{regexp.MustCompile(`^(?:market$|shop$)`), "market"},
	{regexp.MustCompile(`^(?:weed|cannabis|fentanyl|heroin|drugs|ketamine|cocaine|cocain|methamphetamine|mdma|hard drugs)`), "drugs"},
	{regexp.MustCompile(`^(?:fake id|drivers license|id cards|diploma|passport|certificates|counterfeit)`), "counterfeit"},
	{regexp.MustCompile(`^(?:humiliation|spam service|bullying|cybercrime|crime as a service|mistreat)`), "abuse"},
	{regexp.MustCompile(`^(?:sexual abuse|rape|animal sexual abuse)`), "sexual_abuse"},
	{regexp.MustCompile(`^(?:carding|credit cards|cloned cards|gift cards|skimming)`), "payment_card_fraud"},
	{regexp.MustCompile(`^(?:murder|assasination|kill order|hitman)`), "murder"},
	{regexp.MustCompile(`^(?:kalashnikov|ammunition|arms|firearms|weapons|guns)`), "weapons"},
	// Sic: the tool's pattern and concept are both spelled "ransomeware",
	// which is not a concept, so a pack using it fails validation there
	// as it does here.
	{regexp.MustCompile(`^(?:ransomeware$)`), "ransomeware"},
	{regexp.MustCompile(`^(?:hosting)`), "hosting"},
}

// contextConcepts returns the concepts the tool derives from the "tags"
// list of a JSON context, in a fixed order (the tool's order is that of a
// Python set, i.e. arbitrary). A context that is not a JSON object with a
// list of strings under "tags" yields nothing, as in the tool.
func contextConcepts(context string) []string {
	if !strings.Contains(context, `"tags"`) {
		return nil
	}
	var c struct {
		Tags []string `json:"tags"`
	}
	if json.Unmarshal([]byte(context), &c) != nil {
		return nil
	}
	var out []string
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	for _, t := range c.Tags {
		search := strings.ToLower(strings.TrimSpace(t))
		for _, p := range conceptPatterns {
			if p.re.MatchString(search) {
				add(p.concept)
			}
		}
		if cc, ok := conceptMap[strings.ToLower(t)]; ok {
			add(cc)
		}
	}
	return out
}

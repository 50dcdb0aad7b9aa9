package ofac_test

import (
	"fmt"

	"github.com/sleuth-forensics/sleuth/internal/ofac"
)

// ExampleParseFile reads the constructed sdn_advanced.xml excerpt of
// testdata/ (see testdata/PROVENANCE.md): the date comes from DateOfIssue,
// names and programs from the profile and its sanctions entry, and the TRON
// address OFAC lists as XBT is reported apart.
func ExampleParseFile() {
	l, err := ofac.ParseFile("testdata/sdn_advanced_excerpt.xml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Format, l.Date.Format("2006-01-02"))
	for _, e := range l.Entries {
		fmt.Printf("%d %s %q [%s] line %d\n", e.EntNum, e.Address, e.Name, e.Program, e.Line)
	}
	for _, f := range l.Rejected {
		fmt.Printf("not bitcoin: %s (%d %q)\n", f.Value, f.EntNum, f.Name)
	}
	// Output:
	// sdn_advanced_xml 2024-05-03
	// 36216 3K4rjdh8A5yi6LWvft2rbmyZvqEbPSSSX4 "HYDRA MARKET" [CYBER2] line 82
	// 36216 1B11Ezqg3AXjFhMdRq5UpPDpNyriYNVtkn "HYDRA MARKET" [CYBER2] line 88
	// 38419 1H939dom7i4WDLCKyGbXUp3fs9CSTNRzgL "KHATIBI AGHADA, Ahmad" [IRGC] [IFSR] [CYBER2] line 118
	// 38419 bc1q3y5v2khlyvemcz042wl98dzflywr8ghglqws6s "KHATIBI AGHADA, Ahmad" [IRGC] [IFSR] [CYBER2] line 124
	// 38420 1H939dom7i4WDLCKyGbXUp3fs9CSTNRzgL "NIKAEEN RAVARI, Amir Hossein" [IRGC] [IFSR] [CYBER2] line 154
	// 42496 1986rYHckYbJpGQJy6ornuMyD2N5MTqwDt "WU, Huihui" [DPRK3] line 184
	// 45404 1MLPqwaFFUBZePTjpR3nxRoK19Cv9mPCc7 "WANG, Mingming" [ILLICIT-DRUGS-EO14059] line 214
	// not bitcoin: TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq (45404 "WANG, Mingming")
}

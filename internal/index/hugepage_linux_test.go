package index

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unsafe"
)

// TestAdviseHuge: where the kernel offers transparent huge pages on
// request, a large table advised by adviseHuge is backed by them once
// written (smaps' AnonHugePages for its mapping). It runs in a fresh
// process: in this one, other tests' freed memory may be reused for the
// table, already touched (zeroed) with small pages before the advice,
// which then only khugepaged's slow background collapse can change.
func TestAdviseHuge(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages not offered here (%q, %v)", strings.TrimSpace(string(mode)), err)
	}
	if os.Getenv("SLEUTH_THP_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAdviseHuge$", "-test.v")
		cmd.Env = append(os.Environ(), "SLEUTH_THP_CHILD=1")
		out, err := cmd.CombinedOutput()
		t.Logf("child:\n%s", out)
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		if !strings.Contains(string(out), "AnonHugePages of the table") {
			t.Fatal("the child did not check the table")
		}
		return
	}
	s := make([]uint64, 64<<20/8)
	adviseHuge(s)
	for i := 0; i < len(s); i += 512 {
		s[i] = uint64(i)
	}
	addr := uintptr(unsafe.Pointer(&s[len(s)/2])) // the head, before the first 2 MiB boundary, is not advised
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	huge := -1
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &lo, &hi); n == 2 && strings.Contains(line, " ") {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "AnonHugePages:") {
			fmt.Sscanf(strings.TrimPrefix(line, "AnonHugePages:"), "%d", &huge)
		}
	}
	if huge < 0 {
		t.Fatal("the table's mapping is not in smaps")
	}
	t.Logf("AnonHugePages of the table's mapping: %d kB (mode %s)", huge, strings.TrimSpace(string(mode)))
	if huge == 0 {
		t.Fatal("a 64 MiB table advised for huge pages got none")
	}
	if s[512] != 512 {
		t.Fatal("table contents lost")
	}
}

package images

import (
	"bytes"
	"strings"
	"testing"
)

// debootstrapOutput is the shape of debootstrap's output: indexes, then
// each package retrieved and validated, then the stages.
const debootstrapOutput = `I: Retrieving InRelease
I: Checking Release signature
I: Valid Release signature (key id 4D64FEC119C2029067D6E791F8D2585B8783D481)
I: Retrieving Packages
I: Validating Packages
I: Resolving dependencies of required packages...
I: Retrieving adduser 3.134
I: Validating adduser 3.134
I: Retrieving apt 2.6.1
I: Validating apt 2.6.1
I: Validating base-files 12.4+deb12u5
I: Extracting adduser...
I: Installing core packages...
I: Unpacking required packages...
I: Configuring required packages...
I: Base system installed successfully.
`

func TestBaseProgressCountsPackagesOnce(t *testing.T) {
	var out bytes.Buffer
	p := newBaseProgress(&out, t.TempDir())
	for _, l := range strings.Split(strings.TrimSpace(debootstrapOutput), "\n") {
		p.debootstrapLine(l)
	}
	p.setStage("importing into Docker")
	p.done()
	text := out.String()
	for _, want := range []string{"1/150 packages, fetching packages", "3/150 packages, extracting", "installing", "importing into Docker"} {
		if !strings.Contains(text, want) {
			t.Errorf("progress lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Retrieving") || strings.Contains(text, "I: ") {
		t.Errorf("raw debootstrap lines leaked:\n%s", text)
	}
	// Not a terminal: one line per stage change, not one per package.
	if n := strings.Count(text, "\n"); n > 5 {
		t.Errorf("%d lines for 5 stages:\n%s", n, text)
	}
}

func TestInstallPlan(t *testing.T) {
	for _, tc := range []struct {
		root, sudo, apt bool
		want            []string
	}{
		{true, false, true, []string{}},
		{false, true, true, []string{"sudo", "-n"}},
		{false, false, true, nil},
		{true, true, false, nil},
	} {
		got := installPlan(tc.root, tc.sudo, tc.apt)
		if (got == nil) != (tc.want == nil) || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("installPlan(root=%v, sudo=%v, apt=%v) = %q, want %q", tc.root, tc.sudo, tc.apt, got, tc.want)
		}
	}
	if msg := errNoDebootstrap.Error(); !strings.Contains(msg, "apt-get install") || !strings.Contains(msg, "LOADLAB_IMAGES=upstream") {
		t.Errorf("the message lacks the command or the alternative: %s", msg)
	}
}

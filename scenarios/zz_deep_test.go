package scenarios
import ("testing";"strings";"time")
func TestDeep(t *testing.T) {
	for _, src := range []string{strings.Repeat("[", 1<<20-10), "a: " + strings.Repeat("{a: ", 200000), strings.Repeat("- ", 300000), "\ufeffname: x\n", "a: 1\r\nb: 2\r\n"} {
		t0 := time.Now()
		_, err := Parse("d.yaml", []byte(src))
		e := err.Error()
		if len(e) > 200 { e = e[:200] }
		t.Logf("%v %s", time.Since(t0), e)
	}
}

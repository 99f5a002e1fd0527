package reports

import (
	"encoding/xml"
	"fmt"
	"strconv"

	"github.com/loadlab/loadlab/reports/results"
)

// JUnit renders junit.xml for CI test reporters. The mapping:
//
//   - one <testsuite> per variant, named "<scenario>/<variant>";
//   - one <testcase> per check of the variant, with a <failure> holding the
//     observed value against the expectation when it failed;
//   - testcases "history: lost_writes == 0" and "history: impossible_reads
//     == 0" per variant that has a history but no explicit check of that
//     metric in the scenario, so that losing acknowledged writes or
//     returning values nobody wrote never passes silently;
//   - a testcase "run" with an <error> when the variant did not run to the
//     end (status aborted or failed).
//
// No wall-clock data is added: the same results give the same file.
func JUnit(r *results.Results) ([]byte, error) {
	doc := junitSuites{Name: "loadlab " + r.Scenario.Name}
	for _, v := range r.Variants {
		s := junitSuite{
			Name: r.Scenario.Name + "/" + v.Name,
			Time: seconds(v.DurationS),
		}
		if !v.StartedAt.IsZero() {
			s.Timestamp = v.StartedAt.UTC().Format("2006-01-02T15:04:05")
		}
		if len(v.Settings) > 0 || v.Client != "" {
			s.Properties = &junitProperties{}
			if v.Client != "" {
				s.Properties.Property = append(s.Properties.Property, junitProperty{Name: "client", Value: v.Client})
			}
			for _, kv := range sortedPairs(v.Settings) {
				s.Properties.Property = append(s.Properties.Property, junitProperty{Name: "setting." + kv[0], Value: kv[1]})
			}
		}
		class := "loadlab." + r.Scenario.Name + "." + v.Name
		if v.Status != "" && v.Status != results.StatusOK {
			s.add(junitCase{Name: "run", Class: class, Error: &junitProblem{
				Message: fmt.Sprintf("variant %s: %s", v.Status, orNone(v.Reason)),
				Type:    v.Status,
			}})
		}
		explicit := map[string]bool{}
		for _, c := range v.Checks {
			explicit[c.Metric] = true
			tc := junitCase{Name: fmt.Sprintf("%s [%s]", c.Expect, checkScope(c)), Class: class}
			if !c.Pass {
				msg := fmt.Sprintf("observed %s, expected %s", fmtObserved(c.Metric, c.Observed), c.Expect)
				if c.Versus != nil { // a comparison: say what the other side made
					req := fmtRequired(c)
					msg = fmt.Sprintf("observed %s, required %s (%s)", fmtObserved(c.Metric, c.Observed), req, c.Expect)
				}
				if c.Message != "" {
					msg += ": " + c.Message
				}
				body := fmt.Sprintf("variant: %s\nscope: %s\nmetric: %s\nobserved: %s\nexpected: %s\n",
					v.Name, checkScope(c), c.Metric, fmtObserved(c.Metric, c.Observed), c.Expect)
				if c.Where != "" {
					body += "where: " + c.Where + "\n"
				}
				tc.Failure = &junitProblem{Message: msg, Type: "check", Text: body}
			}
			s.add(tc)
		}
		if h := v.History; h != nil {
			for _, m := range []struct {
				metric   string
				observed int64
				of       string
			}{
				{"lost_writes", h.LostWrites, fmt.Sprintf("lost writes of %d acknowledged", h.AckedWrites)},
				{"impossible_reads", h.ImpossibleReads, fmt.Sprintf("impossible reads of %d successful", h.OKReads)},
			} {
				if explicit[m.metric] {
					continue
				}
				tc := junitCase{Name: "history: " + m.metric + " == 0", Class: class}
				if m.observed != 0 {
					tc.Failure = &junitProblem{
						Message: fmt.Sprintf("observed %d %s, expected %s == 0", m.observed, m.of, m.metric),
						Type:    "history",
					}
				}
				s.add(tc)
			}
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Suites = append(doc.Suites, s)
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("reports: junit: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string           `xml:"name,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Errors     int              `xml:"errors,attr"`
	Time       string           `xml:"time,attr"`
	Timestamp  string           `xml:"timestamp,attr,omitempty"`
	Properties *junitProperties `xml:"properties,omitempty"`
	Cases      []junitCase      `xml:"testcase"`
}

func (s *junitSuite) add(c junitCase) {
	if c.Time == "" {
		c.Time = "0" // checks are evaluated after the run: they take no time of their own
	}
	s.Tests++
	if c.Failure != nil {
		s.Failures++
	}
	if c.Error != nil {
		s.Errors++
	}
	s.Cases = append(s.Cases, c)
}

type junitProperties struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name    string        `xml:"name,attr"`
	Class   string        `xml:"classname,attr"`
	Time    string        `xml:"time,attr"`
	Failure *junitProblem `xml:"failure,omitempty"`
	Error   *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

func seconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }

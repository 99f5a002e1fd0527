package metrics

import (
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// TestScenariosKnowEverySeries keeps the scenario language and the scraper
// in step: every series the scraper derives can be named in a check, with
// the same unit, and a check names no series the scraper never makes.
func TestScenariosKnowEverySeries(t *testing.T) {
	known := scenarios.ScrapedSeries()
	derived := map[string]string{}
	for name, m := range seriesMeta {
		derived[name] = m[0]
	}
	for _, class := range []string{"1xx", "2xx", "3xx", "4xx", "5xx"} {
		derived[RequestsByCodePrefix+class] = unitRate
	}
	for name, unit := range derived {
		if known[name] != unit {
			t.Errorf("scraper derives %s (%s); scenarios know it as %q", name, unit, known[name])
		}
	}
	for name := range known {
		if _, ok := derived[name]; !ok {
			t.Errorf("scenarios accept series %s, which the scraper never derives", name)
		}
	}
}

// TestDBReadsAreGetQueries: db_reads_per_second counts only op="get";
// db_queries_per_second counts every operation.
func TestDBReadsAreGetQueries(t *testing.T) {
	scrape := func(get, put float64) reading {
		text := "# TYPE backend_db_queries_total counter\n" +
			"backend_db_queries_total{op=\"get\"} " + strconv.FormatFloat(get, 'f', -1, 64) + "\n" +
			"backend_db_queries_total{op=\"put\"} " + strconv.FormatFloat(put, 'f', -1, 64) + "\n"
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		return reduce(fams)
	}
	prev, cur := scrape(100, 10), scrape(160, 30)
	got := map[string]float64{}
	points(2, 2, increments(prev, cur), cur, func(series string, p results.Point) { got[series] = p.V })
	if got[DBReadsPerSecond] != 30 || got[DBQueriesPerSecond] != 40 {
		t.Errorf("db reads %v/s, queries %v/s; want 30 and 40", got[DBReadsPerSecond], got[DBQueriesPerSecond])
	}
}

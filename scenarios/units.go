package scenarios

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxRate bounds every request rate. The lab runs on one machine; a rate
// beyond this is a typo, and would only measure the load generator.
const maxRate = 100_000 // requests per second

const rateHint = "use 400/s, 30/m, 2/h or a plain number per second"

// ParseRate reads "400/s", "30/m", "2/h", or a plain "400" (per second).
func ParseRate(text string) (Rate, error) {
	text = strings.TrimSpace(text)
	num, unit, hasUnit := strings.Cut(text, "/")
	num = strings.TrimSpace(num)
	per := time.Second
	if hasUnit {
		switch strings.TrimSpace(unit) {
		case "s", "1s", "sec":
			per = time.Second
		case "m", "1m", "min":
			per = time.Minute
		case "h", "1h":
			per = time.Hour
		default:
			return Rate{}, fmt.Errorf("%q is not a rate (%s)", text, rateHint)
		}
	}
	freq, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		if f, ferr := strconv.ParseFloat(num, 64); ferr == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && f > 0 && f < maxRate {
			return Rate{}, fmt.Errorf("%q: a rate counts whole requests; for %s/s write %d/m", text, num, int64(math.Round(f*60)))
		}
		if errors.Is(err, strconv.ErrRange) {
			return Rate{}, fmt.Errorf("%q is too large (at most %d/s)", text, maxRate)
		}
		return Rate{}, fmt.Errorf("%q is not a rate (%s)", text, rateHint)
	}
	if freq <= 0 {
		return Rate{}, fmt.Errorf("must be positive, got %q", text)
	}
	if float64(freq)/per.Seconds() > maxRate {
		return Rate{}, fmt.Errorf("%q is too large (at most %d/s)", text, maxRate)
	}
	return Rate{Freq: int(freq), Per: per}, nil
}

// String prints the rate the way a scenario file writes it.
func (r Rate) String() string {
	switch r.Per {
	case time.Second:
		return fmt.Sprintf("%d/s", r.Freq)
	case time.Minute:
		return fmt.Sprintf("%d/m", r.Freq)
	case time.Hour:
		return fmt.Sprintf("%d/h", r.Freq)
	}
	return fmt.Sprintf("%d/%s", r.Freq, r.Per)
}

// parseRequest reads "GET /items/{key}".
func parseRequest(text string) (method, path string, err error) {
	parts := strings.Fields(text)
	if len(parts) != 2 {
		return "", "", fmt.Errorf("%q is not METHOD PATH (e.g. \"GET /items/{key}\")", text)
	}
	method, path = parts[0], parts[1]
	if method != "GET" && method != "PUT" && method != "POST" {
		return "", "", fmt.Errorf("method %q is not supported (use GET, PUT or POST)", method)
	}
	switch {
	case !strings.HasPrefix(path, "/"):
		return "", "", fmt.Errorf("path %q must start with /", path)
	case !strings.Contains(path, "{key}"):
		return "", "", fmt.Errorf("path %q must contain {key}, where each request's key goes", path)
	case strings.Count(path, "{") != strings.Count(path, "{key}") || strings.Count(path, "}") != strings.Count(path, "{key}"):
		return "", "", fmt.Errorf("path %q: {key} is the only placeholder", path)
	case len(path) > 1024:
		return "", "", fmt.Errorf("path is longer than 1024 bytes")
	}
	return method, path, nil
}

// parseMetricValue reads a threshold with its optional unit and converts
// it to the metric's unit.
func parseMetricValue(kind metricKind, s string) (float64, error) {
	end := strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+' || r == 'e') })
	num, unit := s, ""
	if end >= 0 {
		num, unit = s[:end], strings.TrimSpace(s[end:])
	}
	// "1e" would swallow the e of a unit that starts with it; no unit does.
	v, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("needs a number, got %q", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("threshold must not be negative")
	}
	units := map[metricKind]map[string]float64{
		latencyMetric: {"": 1, "ms": 1, "s": 1000, "us": 0.001, "µs": 0.001},
		secondsMetric: {"": 1, "s": 1, "ms": 0.001},
		ratioMetric:   {"": 1, "%": 0.01},
		rateMetric:    {"": 1, "/s": 1},
		countMetric:   {"": 1},
		numberMetric:  {"": 1},
	}[kind]
	scale, ok := units[unit]
	if !ok {
		allowed := make([]string, 0, len(units))
		for _, u := range []string{"us", "µs", "ms", "s", "%", "/s"} {
			if _, ok := units[u]; ok {
				allowed = append(allowed, u)
			}
		}
		if len(allowed) == 0 && kind == numberMetric {
			return 0, fmt.Errorf("is a number and takes no unit, got %q", unit)
		}
		if len(allowed) == 0 {
			return 0, fmt.Errorf("is a count and takes no unit, got %q", unit)
		}
		return 0, fmt.Errorf("takes %s, got unit %q", strings.Join(allowed, " or "), unit)
	}
	v *= scale
	switch {
	case kind == ratioMetric && v > 1:
		return 0, fmt.Errorf("is a ratio between 0 and 1 (or 0%% to 100%%), got %s", s)
	case kind == countMetric && v != math.Trunc(v):
		return 0, fmt.Errorf("is a count; use a whole number, got %s", s)
	}
	return v, nil
}

// Phase names a part of the run relative to one fault.
const (
	PhaseWhole  = "whole"
	PhaseBefore = "before"
	PhaseDuring = "during"
	PhaseAfter  = "after"
)

// ParsePhase splits a check's phase, e.g. "during db-partition", into its
// part and its fault. "whole" has no fault.
func ParsePhase(text string) (part, fault string, err error) {
	fields := strings.Fields(text)
	switch {
	case len(fields) == 1 && fields[0] == PhaseWhole:
		return PhaseWhole, "", nil
	case len(fields) == 2 && (fields[0] == PhaseBefore || fields[0] == PhaseDuring || fields[0] == PhaseAfter):
		return fields[0], fields[1], nil
	}
	return "", "", fmt.Errorf("%q is not a phase (use whole, \"before F\", \"during F\" or \"after F\" with F a fault name)", text)
}

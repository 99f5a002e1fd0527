package compare

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/loadlab/loadlab/reports/results"
)

// ReadRuns reads one side of a comparison from path: a results.json file, a
// run directory holding one, or a directory of run directories (several runs
// of one side, e.g. a duet's base/ with round-01/, round-02/, … in name
// order). Subdirectories without a results.json are skipped.
func ReadRuns(path string) ([]*results.Results, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	if !fi.IsDir() {
		r, err := results.Read(path)
		return []*results.Results{r}, err
	}
	if _, err := os.Stat(filepath.Join(path, "results.json")); err == nil {
		r, err := results.Read(path)
		return []*results.Results{r}, err
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	var runs []*results.Results
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for _, name := range names {
		dir := filepath.Join(path, name)
		if _, err := os.Stat(filepath.Join(dir, "results.json")); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		r, err := results.Read(dir)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("compare: %s: no results.json in it or in its subdirectories", path)
	}
	return runs, nil
}

package measure

import (
	"bufio"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

// RequestTotals reads an API server's apiserver_request_total (a kube-apiserver's, or a kcp
// shard's with its shard admin), summed by verb and resource/subresource.
func RequestTotals(t testing.TB, cfg *rest.Config) map[string]float64 {
	t.Helper()
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	metrics := strings.TrimSuffix(cfg.Host, "/") + "/metrics"
	resp, err := httpClient.Get(metrics)
	if err != nil {
		t.Fatalf("scraping %s: %v", metrics, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: %s", metrics, resp.Status)
	}
	totals := map[string]float64{}
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		rest, ok := strings.CutPrefix(lines.Text(), "apiserver_request_total{")
		if !ok {
			continue
		}
		labelText, valueText, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		value, err := strconv.ParseFloat(valueText, 64)
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for _, pair := range strings.Split(labelText, ",") {
			if k, v, ok := strings.Cut(pair, "="); ok {
				labels[k] = strings.Trim(v, `"`)
			}
		}
		key := labels["verb"] + " " + labels["resource"]
		if labels["subresource"] != "" {
			key += "/" + labels["subresource"]
		}
		totals[key] += value
	}
	return totals
}

// RequestsPerObject is how many requests were served between two scrapes per object, in all.
func RequestsPerObject(before, after map[string]float64, objects int) float64 {
	total := 0.0
	for key, n := range after {
		total += n - before[key]
	}
	return total / float64(objects)
}

// PerObject formats the requests served between two scrapes, per object, leaving out what came to
// less than one request per 20 objects.
func PerObject(before, after map[string]float64, objects int) string {
	var lines []string
	for key, n := range after {
		if per := (n - before[key]) / float64(objects); per >= 0.05 {
			lines = append(lines, fmt.Sprintf("    %-44s %6.2f", key, per))
		}
	}
	slices.Sort(lines)
	all := fmt.Sprintf("    %-44s %6.2f", "all", RequestsPerObject(before, after, objects))
	return strings.Join(append(lines, all), "\n")
}

// Quantile returns the q-quantile (0 < q <= 1, nearest rank) of values.
func Quantile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := slices.Sorted(slices.Values(values))
	rank := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

package main

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/bindery-dev/bindery/test/servers"
)

// clusterPorts are the secure ports of the provider, consumer and team-a kube-apiservers. Free ones are
// picked on the first start and kept in the state folder: with their certificates and etcd data,
// a restarted cluster is at the same address with the same CA, so the credentials the backend gave
// the consumer cluster's konnector still reach it.
type clusterPorts struct {
	Provider int `json:"provider"`
	Consumer int `json:"consumer"`
	TeamA    int `json:"teamA"`
}

// loadPorts reads the ports of an earlier start, picks free ones for those it lacks (a state
// folder of an older make run has fewer clusters), and saves them.
func loadPorts(path string) (clusterPorts, error) {
	var p clusterPorts
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &p); err != nil {
			return p, err
		}
	case !errors.Is(err, os.ErrNotExist):
		return p, err
	}
	missing := []*int{}
	for _, port := range []*int{&p.Provider, &p.Consumer, &p.TeamA} {
		if *port == 0 {
			missing = append(missing, port)
		}
	}
	if len(missing) == 0 {
		return p, nil
	}
	free, err := servers.FreePorts(len(missing))
	if err != nil {
		return p, err
	}
	for i, port := range missing {
		*port = free[i]
	}
	data, err = json.Marshal(p)
	if err != nil {
		return p, err
	}
	return p, os.WriteFile(path, data, 0o644)
}

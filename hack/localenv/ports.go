package main

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/bindery-dev/bindery/test/servers"
)

// clusterPorts are the secure ports of the provider and consumer kube-apiservers. Free ones are
// picked on the first start and kept in the state folder: with their certificates and etcd data,
// a restarted cluster is at the same address with the same CA, so the credentials the backend gave
// the consumer cluster's konnector still reach it.
type clusterPorts struct {
	Provider int `json:"provider"`
	Consumer int `json:"consumer"`
}

// loadPorts reads the ports of an earlier start, or picks and saves new ones.
func loadPorts(path string) (clusterPorts, error) {
	var p clusterPorts
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &p); err != nil {
			return p, err
		}
		if p.Provider != 0 && p.Consumer != 0 {
			return p, nil
		}
	case !errors.Is(err, os.ErrNotExist):
		return p, err
	}
	free, err := servers.FreePorts(2)
	if err != nil {
		return p, err
	}
	p = clusterPorts{Provider: free[0], Consumer: free[1]}
	data, err = json.Marshal(p)
	if err != nil {
		return p, err
	}
	return p, os.WriteFile(path, data, 0o644)
}

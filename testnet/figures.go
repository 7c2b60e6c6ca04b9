package testnet

import "maps"

// figureMeanings says in one line what each report key means, for the
// HTML report's figures table. Keys are paths into the JSON report with
// array indices left out; a map's entries take its own key's line. A
// test holds every key of the report to having one.
var figureMeanings = func() map[string]string {
	m := map[string]string{
		"homes":              "homes in the city",
		"neighborhoods":      "neighborhoods (feeders) the homes are dealt out among",
		"duration_s":         "the scenarios' scheduled length, s",
		"scenario":           "the scenarios played",
		"seed":               "seed of the homes' devices",
		"ran_s":              "how long the scenarios ran, from the last home listening, s",
		"events_late_max_ms": "the most any scenario event fired after its time, ms (the machine's load)",
		"startup_s":          "from the command to the last home listening, s",
		"all_planned_s":      "from the command until every neighborhood had had all its live homes on a plan, s (0: one never had)",
		"all_planned_cpu_s":  "CPU time the process had used by then, user and system, s (0: never)",
		"cpu_s":              "CPU time (user + system) of the process from the city's start to its stop, s",
		"cpu_core_pct":       "the process's CPU over the scenarios, % of one core",
		"max_rss_mb":         "the process's peak resident memory, MiB",

		"neighborhood.id":                         "the neighborhood",
		"neighborhood.homes":                      "its homes",
		"neighborhood.live_homes":                 "its homes running at the end",
		"neighborhood.leader":                     "its Raft leader at the end",
		"neighborhood.leader_changes":             "times its leader changed",
		"neighborhood.plans_committed":            "plans its Raft log committed",
		"neighborhood.plan_coverage":              "share of live homes following its newest plan at the end",
		"neighborhood.first_plan_ms":              "from the first home starting to a first plan applied here, ms",
		"neighborhood.target_w":                   "the feeder import it was asked for at the end, W",
		"neighborhood.achieved_w":                 "mean feeder import over the steady samples of that target, W",
		"neighborhood.tracking_error_pct":         "mean |feeder − target| over steady samples, % of the target (or of the battery rating when small)",
		"neighborhood.steady_samples":             "samples tracking was judged on",
		"neighborhood.clusters_formed":            "Raft clusters founded here (1 is right)",
		"neighborhood.cluster_merges":             "homes that wiped their state to join the cluster chosen",
		"neighborhood.raft_streams_other_cluster": "Raft streams refused from another cluster of it (0 unless it split)",
		"neighborhood.regional_share_w":           "its share of the last regional signal, as its leader computed it, W",
		"neighborhood.target_steps.seq":           "an outside operator's run: a new target Seq its plans carried",
		"neighborhood.target_steps.import_w":      "the first plan's target under that Seq, W",
		"neighborhood.target_steps.offset_w":      "its own target less that: its regional share then, W",
		"neighborhood.target_steps.first_unix_ms": "when a home first applied a plan under that Seq, Unix ms",
		"neighborhood.target_steps.all_unix_ms":   "when the last home live at the end had applied it or a newer one, Unix ms (0: never)",
		"neighborhood.target_steps.homes":         "homes that applied it or a newer one",

		"signal_to_setpoint_ms":             "from a target change reaching the leader to each home applying it, ms",
		"primary_response_ms":               "per home, from its meter reading 49.5 Hz to full droop response, ms",
		"primary_response_late":             "homes not at full droop response within two loop ticks",
		"failover_ms":                       "per leader kill, from the kill to every survivor applying the new leader's plan, ms",
		"homes_without_valid_plan_max":      "the most homes at one sample whose plan lease had run out",
		"loop_ticks_missed":                 "device-loop ticks that started a period late",
		"loop_ticks_unsettled":              "ticks skipped because readings predated the last battery command",
		"loop_ticks":                        "every tick of every home",
		"rejected_messages":                 "gossip messages and peers refused, by reason",
		"admission_refused":                 "peers refused admission to a neighborhood",
		"plans_from_non_members_applied":    "plans from non-members applied (0 is right)",
		"rogue_plans_published":             "plans the rogues published",
		"rogue_raft_rpcs":                   "Raft RPCs the rogues sent",
		"rogue_raft_rpcs_answered":          "rogue Raft RPCs a home answered (0 is right)",
		"stale_plans_applied":               "deposed leaders' plans applied (0 is right)",
		"stale_plans_published":             "plans deposed leaders published",
		"churn.joins":                       "homes that joined late",
		"churn.crashes":                     "voters crashed and restarted",
		"churn.leaves":                      "homes that left and came back",
		"churn.pauses":                      "leaders paused",
		"plans_refused":                     "plans a home's loop refused, by reason (stale: also a plan that came on the topic and on a beacon both)",
		"plans_on_beacons":                  "plans homes outside the Raft configuration had from their leader's beacons rather than the plan topic",
		"device_errors":                     "device reads or writes that failed",
		"errors":                            "what went wrong (empty on a clean run)",
		"signals_rejected":                  "operator signals refused, by reason",
		"region_aggregates.homes_receiving": "homes that received any neighborhood aggregate (only leaders join their topic)",
		"region_aggregates.homes":           "homes in the city",
		"region_aggregates.copies":          "aggregate copies received, first and duplicate, summed over homes",
		"region_aggregates.copies_max":      "the most aggregate copies one home received",

		"island.outage_s":                    "simulated length of the outage, s",
		"island.sharing":                     "homes shared energy within their neighborhood",
		"island.critical_served_pct":         "critical energy the batteries and PV supplied over demanded, %",
		"island.noncritical_served_pct":      "non-critical load served over demanded, %",
		"island.critical_demand_kwh":         "critical load demanded, kWh",
		"island.noncritical_demand_kwh":      "non-critical load demanded, kWh",
		"island.blackouts":                   "times a feeder went dark",
		"island.blackout_stored_pct":         "stored energy of each feeder at its blackout, % of capacity",
		"island.dark_home_hours":             "simulated hours homes spent dark, summed",
		"island.disconnected_home_hours":     "of those, hours with the home's load disconnected by the island plan on a lit feeder",
		"island.min_soc_pct":                 "lowest state of charge of any battery during the outage, %",
		"island.frequency_min_hz":            "lowest islanded frequency while energized, Hz",
		"island.frequency_max_hz":            "highest islanded frequency while energized, Hz",
		"island.start_soc_pct":               "the city's stored energy when the grid went, % of capacity",
		"island.end_soc_pct":                 "the city's stored energy when it came back, % of capacity",
		"island.black_starts":                "feeders re-energized while the grid was gone",
		"island.damping_kwh":                 "energy the inverters' damping drew from the batteries, kWh",
		"island.load_relief_kwh":             "load the loads' own frequency sensitivity took off, kWh",
		"island.feeders.homes":               "the island's homes",
		"island.feeders.stored_kwh":          "energy its batteries held when the grid went, kWh",
		"island.feeders.pv_kwh":              "what its PV could produce during the outage, kWh",
		"island.feeders.critical_demand_kwh": "its critical load over the outage, kWh",
		"island.feeders.blackouts":           "times it went dark",
		"island.critical_bound_pct":          "most critical load a perfect-foresight planner could serve (LP on the run's record), % of demand",
		"island.critical_vs_bound":           "critical energy served over the perfect-foresight bound",
		"forecast_skill.load":                "the rationing's critical-load forecast on the run's own series: 1 − RMSE / RMSE of persistence",
		"forecast_skill.pv":                  "the rationing's PV forecast on the run's own series: 1 − RMSE / RMSE of persistence",
		"forecast_skill.origins":             "forecasts made, one per neighborhood and simulated hour",
		"forecast_skill.steps":               "forecast quarter-hours compared with what came",
		"forecast_skill.recorded_h":          "simulated hours the neighborhoods' series cover",
		"island.feeders.critical_served_pct": "its critical energy supplied over demanded, %",
		"island.feeders.critical_bound_pct":  "most of its critical load a perfect-foresight planner could serve, %",
		"island.feeders.critical_vs_bound":   "its critical energy served over its bound",

		"archive.dir":             "the directory the run's archiver wrote",
		"archive.tag":             "the archiver's name in its files (part-<tag>-NNNN.parquet)",
		"archive.files":           "Parquet files it committed",
		"archive.bytes":           "their size, bytes",
		"archive.rows":            "rows it committed, by table",
		"archive.homes.home":      "a home",
		"archive.homes.nbhd":      "its neighborhood",
		"archive.homes.published": "telemetry reports it published",
		"archive.homes.archived":  "of those, rows the archive holds",

		"pjm_score.accuracy":         "PJM accuracy: correlation of response and signal at the lag chosen",
		"pjm_score.delay":            "PJM delay: how soon the response follows, 1 at no lag",
		"pjm_score.precision":        "PJM precision: 1 − mean |response − signal| / mean |signal|",
		"pjm_score.composite":        "PJM performance score: the mean of the three",
		"regulation.offered_w":       "regulation capacity the region offered, W",
		"regulation.samples":         "10 s samples scored",
		"regulation.precision":       "precision over every sample, not only the 10 s ones",
		"regulation.mean_abs_error":  "mean |response − signal| over every sample, of the offer",
		"regulation.pjm_score_error": "why there is no PJM score",
	}
	maps.Copy(m, attackMeanings)
	maps.Copy(m, membershipAttackMeanings)
	maps.Copy(m, telemetryMeanings)
	maps.Copy(m, gossipMeanings)
	maps.Copy(m, degradedMeanings)
	for _, p := range []string{"signal_to_setpoint_ms", "primary_response_ms", "attacks.sybil.disconnect_ms"} {
		what := m[p]
		m[p+".n"] = "samples of: " + what
		m[p+".p50"] = "median of: " + what
		m[p+".p99"] = "99th percentile of: " + what
		m[p+".max"] = "most of: " + what
		delete(m, p)
	}
	return m
}()

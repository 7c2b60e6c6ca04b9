package hass

// discoveryMsg is one entity's discovery config and its topic.
type discoveryMsg struct {
	topic   string
	payload map[string]any
}

// entity is one Home Assistant entity of the home.
type entity struct {
	component string // sensor, number, switch
	object    string // object_id
	name      string
	fields    map[string]any // the component's own fields
}

// energySensor is a counter HA's energy dashboard takes directly.
func energySensor(object, name, key string) entity {
	return entity{"sensor", object, name, map[string]any{
		"device_class": "energy", "state_class": "total_increasing", "unit_of_measurement": "kWh",
		"value_template": "{{ value_json." + key + " }}", "suggested_display_precision": 3,
	}}
}

// powerSensor is a power now, in W.
func powerSensor(object, name, key string) entity {
	return entity{"sensor", object, name, map[string]any{
		"device_class": "power", "state_class": "measurement", "unit_of_measurement": "W",
		"value_template": "{{ value_json." + key + " }}",
	}}
}

// switchOf is a writable ON/OFF setting.
func (p *Publisher) switchOf(object, name, icon string) entity {
	return entity{"switch", object, name, map[string]any{
		"command_topic":  p.commandTopic(object),
		"value_template": "{{ 'ON' if value_json." + object + " else 'OFF' }}",
		"payload_on":     "ON", "payload_off": "OFF", "state_on": "ON", "state_off": "OFF",
		"icon": icon,
	}}
}

// entities are every entity the home publishes.
func (p *Publisher) entities() []entity {
	return []entity{
		powerSensor("grid_power", "Grid power", "net_w"),
		powerSensor("battery_power", "Battery power", "battery_w"),
		{"sensor", "battery_soc", "Battery state of charge", map[string]any{
			"device_class": "battery", "state_class": "measurement", "unit_of_measurement": "%",
			"value_template": "{{ value_json.soc_pct }}",
		}},
		energySensor("grid_import_energy", "Grid import", "grid_import_kwh"),
		energySensor("grid_export_energy", "Grid export", "grid_export_kwh"),
		energySensor("battery_charge_energy", "Battery charge", "battery_charge_kwh"),
		energySensor("battery_discharge_energy", "Battery discharge", "battery_discharge_kwh"),
		energySensor("pv_energy", "PV production", "pv_production_kwh"),
		energySensor("load_served_energy", "Load served", "load_served_kwh"),
		energySensor("load_shed_energy", "Load shed", "load_shed_kwh"),
		{"sensor", "mode", "Control mode", map[string]any{"value_template": "{{ value_json.mode }}", "icon": "mdi:transmission-tower"}},
		{"sensor", "steering", "Steering", map[string]any{"value_template": "{{ value_json.steering }}", "icon": "mdi:steering"}},
		{"number", "reserve_pct", "Backup reserve", map[string]any{
			"command_topic": p.commandTopic("reserve_pct"), "value_template": "{{ value_json.reserve_pct }}",
			"min": 0, "max": 100, "step": 1, "unit_of_measurement": "%", "mode": "slider", "icon": "mdi:battery-lock",
		}},
		p.switchOf("opt_out_next", "Opt out of the next grid event", "mdi:calendar-remove"),
		p.switchOf("paused", "Pause steering", "mdi:pause-circle"),
	}
}

// nodeID is the home's discovery node_id and device identifier.
func (p *Publisher) nodeID() string { return "gridmesh_" + p.info.Home }

// discovery returns every entity's discovery config: on
// <prefix>/<component>/gridmesh_<home>/<object>/config, with the shared
// state and availability topics, a unique_id and the device block.
func (p *Publisher) discovery() []discoveryMsg {
	device := map[string]any{
		"identifiers":  []string{p.nodeID()},
		"name":         "gridmesh " + p.info.Home,
		"manufacturer": "gridmesh",
		"model":        "gridmesh node",
		"sw_version":   p.info.SWVersion,
	}
	var out []discoveryMsg
	for _, e := range p.entities() {
		payload := map[string]any{
			"name":                  e.name,
			"object_id":             p.nodeID() + "_" + e.object,
			"unique_id":             p.nodeID() + "_" + e.object,
			"state_topic":           p.stateTopic(),
			"availability_topic":    p.availabilityTopic(),
			"payload_available":     "online",
			"payload_not_available": "offline",
			"device":                device,
		}
		for k, v := range e.fields {
			payload[k] = v
		}
		out = append(out, discoveryMsg{
			topic:   p.cfg.DiscoveryPrefix + "/" + e.component + "/" + p.nodeID() + "/" + e.object + "/config",
			payload: payload,
		})
	}
	return out
}

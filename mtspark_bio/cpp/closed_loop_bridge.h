// Closed-loop bridge between a compiled Brian2 network and a Python environment
// process (mtspark_bio/closed_loop). Called from run_regularly code once per agent
// step; see closed_loop_bridge.cpp for the protocol.
#ifndef MTSPARK_CLOSED_LOOP_BRIDGE_H
#define MTSPARK_CLOSED_LOOP_BRIDGE_H

double bridge_report(int i, double count);
double bridge_exchange(double t);
double bridge_modulator(int i);
double bridge_tag(int i);
double bridge_drive(int i);
double bridge_observation(int i);

#endif

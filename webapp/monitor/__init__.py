"""What supervisors, observers and the public see: dashboards, trace, exports, the public box page."""

-- An alert rule's API filter (spec §6.7 "Filter scope of tracking → Filter
-- by APIs", issue 17): the one destination endpoint ("downstream service",
-- the obs_http endpoint label) whose calls the rule measures; '' measures
-- every call of the dataflow. Fixed at creation, like the metric.
ALTER TABLE alert_rules ADD COLUMN endpoint TEXT NOT NULL DEFAULT '';

"""Treatment and safety (§7, §10, §14): dose plans and deviations, SAE and regulator clocks,
lab alerts, and the due-work list that joins them to data capture's."""

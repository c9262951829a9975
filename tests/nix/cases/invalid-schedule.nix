# Must fail when the system is built: 25:00:00 is no time of day.
{
  odbox.backup.odoo = {
    enable = true;
    hot-schedule = [
      "11:00:00"
      "25:00:00"
    ];
    cold-schedule = [ "02:00:00" ];
  };
}

# nixpkgs spelling of the schedule options, calendar expressions with spaces,
# and most of the other options changed from their defaults.
{
  services.postgresql.enable = true;
  odbox.backup = {
    basedir = "/srv/backup";
    odoo = {
      enable = true;
      hotSchedule = [
        "Mon..Fri 11:00"
        "Mon..Fri 14:00"
      ];
      coldSchedule = [ "Sun *-*-* 02:30:00" ];
      dataDir = "/var/lib/odoo/.local/share/Odoo";
      unit = "odoo@prod.service";
      fullDowntime = true;
      sessionsKeepDays = 7;
      stopTimeout = 300;
      coldTimeout = "2h";
      onFailure = [ "notify-admin@%n.service" ];
      metricsFile = "/var/lib/node-exporter/odbox-backup.prom";
      settings = {
        log_level = "debug";
        lock_wait_timeout_seconds = 900;
      };
    };
  };
}

# The seed's example on a machine with a local PostgreSQL, with off-site
# generations and the forget and check timers of the units in systemd/.
{
  services.postgresql.enable = true;
  odbox.backup = {
    basedir = "/backup";
    odoo = {
      enable = true;
      hot-schedule = [
        "11:00:00"
        "14:00:00"
        "16:00:00"
      ];
      cold-schedule = [ "02:00:00" ];
    };
    offsite = {
      enable = true;
      repository = "sftp:backup@backup.example:/srv/restic/odoo";
      passwordFile = "/etc/odbox-backup/restic.pass";
      forgetSchedule = [ "Sun 04:00:00" ];
      checkSchedule = [ "Sun 05:00:00" ];
    };
  };
}

# Off-site pushes after every run, no forget or check timer (empty
# schedules: e.g. an append-only server, forget runs on a trusted machine).
{
  odbox.backup = {
    odoo = {
      enable = true;
      hotSchedule = [ "12:00" ];
    };
    offsite = {
      enable = true;
      repository = "rest:https://backup.internal:8000/erp";
      passwordFile = "/etc/odbox-backup/restic.pass";
    };
  };
}

# Several databases backed up in each run.
{
  services.postgresql.enable = true;
  odbox.backup.odoo = {
    enable = true;
    databases = [
      "odoo"
      "odoo_staging"
      "odoo_training"
    ];
    hotSchedule = [ "12:00" ];
    coldSchedule = [ "03:00" ];
  };
}

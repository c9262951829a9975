# Cold backups only: no hot timer.
{
  odbox.backup.odoo = {
    enable = true;
    coldSchedule = [ "02:00:00" ];
  };
}

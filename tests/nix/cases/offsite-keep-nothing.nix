# keep.last = 0 would let forget delete the newest generation.
{
  odbox.backup = {
    odoo = {
      enable = true;
      hotSchedule = [ "12:00" ];
    };
    offsite = {
      enable = true;
      repository = "/srv/restic";
      passwordFile = "/etc/odbox-backup/restic.pass";
      keep.last = 0;
    };
  };
}

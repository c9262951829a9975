#include "odbox/core/errors.hpp"
#include "odbox/core/offsite/settings.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using odbox::core::OffsiteSettings;
using odbox::core::read_offsite_settings;
using odbox::core::UsageError;
using odbox::test::ScratchDir;
using odbox::test::write_text;

namespace {

nlohmann::json valid() {
  return {{"repository", "rest:http://backup:8000/erp"},
          {"password_file", "/etc/restic.pass"}};
}

std::string error_of(const nlohmann::json& object) {
  try {
    (void)read_offsite_settings(object, "/etc/odbox.json");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

std::string env_error_of(const std::filesystem::path& file) {
  try {
    (void)odbox::core::read_environment_file(file);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST(OffsiteSettings, DefaultsAndAFullObject) {
  auto object = valid();
  const auto defaults = read_offsite_settings(object, "f");
  EXPECT_EQ(defaults.keep.last, 3);
  EXPECT_EQ(defaults.keep.daily, 7);
  EXPECT_TRUE(defaults.push_after.empty());
  EXPECT_FALSE(defaults.init);
  object["push_after"] = {"hot", "cold"};
  object["keep"] = {{"last", 1}, {"daily", 0}, {"yearly", 2}};
  object["environment_file"] = "/etc/restic.env";
  object["init"] = true;
  const auto s = read_offsite_settings(object, "f");
  EXPECT_TRUE(s.pushes_after("cold"));
  EXPECT_EQ(s.keep.last, 1);
  EXPECT_EQ(s.keep.daily, 0);
  EXPECT_EQ(s.keep.weekly, 4); // not given: the default stays
  EXPECT_EQ(s.keep.yearly, 2);
  EXPECT_EQ(s.environment_file->string(), "/etc/restic.env");
  EXPECT_TRUE(s.init);
}

TEST(OffsiteSettings, EachMistakeIsNamed) {
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {{{"password_file", "/p"}}, "'offsite.repository' is missing"},
      {{{"repository", "/r"}}, "'offsite.password_file' is missing"},
      {{{"repository", "/r"}, {"password_file", "p"}},
       "must be an absolute path, not 'p'"},
      {{{"repository", "/r"}, {"password_file", "/p"}, {"push_after", "hot"}},
       "'offsite.push_after' must be a list of strings"},
      {{{"repository", "/r"}, {"password_file", "/p"}, {"push_after", {"hot", "hot"}}},
       "names 'hot' twice"},
      {{{"repository", "/r"}, {"password_file", "/p"}, {"keep", {{"last", -1}}}},
       "'offsite.keep.last' must be a whole number from 0 to 100000"},
      {{{"repository", "/r"}, {"password_file", "/p"}, {"keep", {{"dayly", 3}}}},
       "'offsite.keep.dayly' is not a known setting"},
      {{{"repository", "/r"}, {"password_file", "/p"}, {"init", "yes"}},
       "'offsite.init' must be true or false"},
      {nlohmann::json::array(), "'offsite' must be a JSON object"},
  };
  for (const auto& [object, expected] : cases) {
    const auto message = error_of(object);
    EXPECT_NE(message.find(expected), std::string::npos)
        << object.dump() << ": " << message;
    EXPECT_NE(message.find("/etc/odbox.json"), std::string::npos) << message;
  }
}

TEST(OffsiteSettings, RepositoryPasswordsAreRedacted) {
  using odbox::core::redacted_repository;
  EXPECT_EQ(redacted_repository("rest:https://odoo:s3cret@backup.example:8000/erp"),
            "rest:https://odoo:***@backup.example:8000/erp");
  EXPECT_EQ(redacted_repository("rest:https://backup.example:8000/erp"),
            "rest:https://backup.example:8000/erp");
  EXPECT_EQ(redacted_repository("sftp:backup@host:/srv/odoo"),
            "sftp:backup@host:/srv/odoo");
  EXPECT_EQ(redacted_repository("/srv/restic"), "/srv/restic");
}

TEST(OffsiteSettings, EnvironmentFileLines) {
  ScratchDir dir;
  const auto file = dir.path() / "restic.env";
  write_text(file,
             "# comment\n\nAWS_ACCESS_KEY_ID=AKIA1\r\nAWS_SECRET_ACCESS_KEY=a=b=c\n");
  EXPECT_EQ(odbox::core::read_environment_file(file),
            (std::vector<std::string>{"AWS_ACCESS_KEY_ID=AKIA1",
                                      "AWS_SECRET_ACCESS_KEY=a=b=c"}));
  write_text(file, "GOOD=1\nexport BAD=secret-value\n");
  auto message = env_error_of(file);
  EXPECT_NE(message.find("line 2: not a KEY=VALUE line"), std::string::npos) << message;
  EXPECT_EQ(message.find("secret-value"), std::string::npos) << message;
  write_text(file, "RESTIC_PASSWORD_FILE=/x\n");
  message = env_error_of(file);
  EXPECT_NE(message.find("comes from the offsite object"), std::string::npos) << message;
}

TEST(OffsiteSettings, SecretFilesMustBePrivate) {
  ScratchDir dir;
  const auto file = dir.path() / "restic.pass";
  write_text(file, "pw\n");
  std::filesystem::permissions(file, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::owner_write);
  EXPECT_NO_THROW(odbox::core::check_secret_file(file, "offsite.password_file"));
  std::filesystem::permissions(file, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  try {
    odbox::core::check_secret_file(file, "offsite.password_file");
    FAIL() << "a group-readable password file was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("(mode 0640): chmod 600 " + file.string()),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(odbox::core::check_secret_file(dir.path() / "none", "k"), UsageError);
  EXPECT_THROW(odbox::core::check_secret_file(dir.path(), "k"), UsageError);
}

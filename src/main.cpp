#include "odbox/app/app.hpp"

int main(int argc, char** argv) {
  return odbox::app::run(argc, argv);
}

// Entry point: everything lives in RtdemoApp.
#include "service/app/rtdemo_app.h"

int main(int argc, char** argv) {
  rtdemo::RtdemoApp app;
  return app.run(argc, argv);
}

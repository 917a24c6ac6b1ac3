// rtdemo-token: issues tokens for rtdemo's JWT authentication (issue 9), for
// the documentation, for tests and for operators.
//
//   rtdemo-token --secret-file /etc/rtdemo/jwt.key --publish 'news,team-7:*'
//   --ttl 3600 rtdemo-token --secret "$KEY" --subscribe 'private:room-1'
//   --subject alice
//
// Prints the token on stdout. The claims are the ones JwtVerifier reads
// (service/security/jwt_verifier.h): "publish" and "subscribe" hold channel patterns
// (a name, a prefix ending in *, or * alone), "exp" is now + --ttl, "nbf" is
// now + --not-before when given. A negative --ttl makes an already expired
// token, which is what the tests need.
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "Poco/Exception.h"
#include "Poco/NumberParser.h"
#include "Poco/StringTokenizer.h"
#include "service/security/jwt_verifier.h"

namespace {

void usage(std::ostream& out) {
  out << "usage: rtdemo-token (--secret KEY | --secret-file FILE) [--publish "
         "PATTERNS]\n"
         "                    [--subscribe PATTERNS] [--ttl SECONDS] "
         "[--not-before SECONDS]\n"
         "                    [--subject NAME] [--algorithm "
         "HS256|HS384|HS512]\n"
         "  PATTERNS: comma-separated channel names, prefixes ending in *, or "
         "*\n"
         "  --ttl: lifetime from now (default 3600; 0: no exp; negative: "
         "already expired)\n"
         "  --not-before: seconds from now before the token is valid (nbf)\n";
}

std::vector<std::string> patterns(const std::string& list) {
  Poco::StringTokenizer tok(list, ",",
                            Poco::StringTokenizer::TOK_TRIM |
                                Poco::StringTokenizer::TOK_IGNORE_EMPTY);
  return std::vector<std::string>(tok.begin(), tok.end());
}

}  // namespace

int main(int argc, char** argv) {
  std::string secret, secretFile, algorithm = "HS256";
  rtdemo::TokenClaims claims;
  long long ttl = 3600, notBefore = 0;
  bool hasNotBefore = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(std::cout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << "rtdemo-token: " << arg << " needs a value\n";
      usage(std::cerr);
      return 2;
    }
    std::string value = argv[++i];
    Poco::Int64 n = 0;
    if (arg == "--secret")
      secret = value;
    else if (arg == "--secret-file")
      secretFile = value;
    else if (arg == "--publish")
      claims.publish = rtdemo::ChannelPatterns(patterns(value));
    else if (arg == "--subscribe")
      claims.subscribe = rtdemo::ChannelPatterns(patterns(value));
    else if (arg == "--subject")
      claims.subject = value;
    else if (arg == "--algorithm")
      algorithm = value;
    else if ((arg == "--ttl" || arg == "--not-before") &&
             Poco::NumberParser::tryParse64(value, n)) {
      if (arg == "--ttl")
        ttl = n;
      else
        notBefore = n, hasNotBefore = true;
    } else {
      std::cerr << "rtdemo-token: bad option " << arg << " " << value << "\n";
      usage(std::cerr);
      return 2;
    }
  }
  if (!secretFile.empty()) {
    std::ifstream in(secretFile, std::ios::binary);
    if (!in) {
      std::cerr << "rtdemo-token: cannot read " << secretFile << "\n";
      return 1;
    }
    std::stringstream content;
    content << in.rdbuf();
    secret = content.str();
    // As rtdemo reads the key file: a trailing newline is not part of it.
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r'))
      secret.pop_back();
  }
  if (secret.empty()) {
    std::cerr << "rtdemo-token: give --secret or --secret-file\n";
    usage(std::cerr);
    return 2;
  }
  if (algorithm != "HS256" && algorithm != "HS384" && algorithm != "HS512") {
    std::cerr << "rtdemo-token: algorithm must be HS256, HS384 or HS512\n";
    return 2;
  }
  long long now = static_cast<long long>(std::time(nullptr));
  try {
    rtdemo::JwtVerifier signer(secret, algorithm, 0);
    std::cout << signer.sign(claims, now, hasNotBefore ? now + notBefore : 0,
                             ttl == 0 ? 0 : now + ttl)
              << "\n";
  } catch (const Poco::Exception& e) {
    std::cerr << "rtdemo-token: " << e.displayText() << "\n";
    return 1;
  }
  return 0;
}

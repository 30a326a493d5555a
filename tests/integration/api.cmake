trawler_test(api_test integration SOURCES api_test.cpp crawl_harness.cpp
  LIBS trawler_test_support nlohmann_json::nlohmann_json)
if(TARGET api_test)
  add_dependencies(api_test trawler)
endif()

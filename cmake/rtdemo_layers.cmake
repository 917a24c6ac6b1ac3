# rtdemo_layers.cmake: the library graph of issue 19, checked when CMake
# configures. Each of our targets may link only the libraries of ours
# listed for it; linking another (a layer reaching upward, or the token
# tool pulling in the server) stops the configure step with the target's
# name. scripts/layering_check.sh checks the same graph for #include lines
# (ctest: LayeringCheck). Included at the end of the top CMakeLists.txt,
# once every target exists.
#
#   rtdemo_app       rtdemo_http, and everything below it
#   rtdemo_http      rtdemo_hub, rtdemo_security, rtdemo_streams (/v1/stream)
#   rtdemo_hub       rtdemo_protocol, rtdemo_storage (and rtdemo_metrics)
#   rtdemo_security  rtdemo_config, rtdemo_metrics, rtdemo_model
#   rtdemo_protocol  rtdemo_model
#   rtdemo_streams   rtdemo_protocol (Durable Streams parsers)
#   rtdemo_storage   rtdemo_model
#   rtdemo_config    rtdemo_model
#   rtdemo_metrics, rtdemo_model: nothing of ours
# Each may also link what its dependencies link (the lists below are
# complete).
set(RTDEMO_LAYER_rtdemo_model "")
set(RTDEMO_LAYER_rtdemo_storage rtdemo_model)
set(RTDEMO_LAYER_rtdemo_protocol rtdemo_model)
set(RTDEMO_LAYER_rtdemo_streams rtdemo_protocol rtdemo_model)
set(RTDEMO_LAYER_rtdemo_metrics "")
set(RTDEMO_LAYER_rtdemo_config rtdemo_model)
set(RTDEMO_LAYER_rtdemo_security rtdemo_config rtdemo_metrics rtdemo_model)
set(RTDEMO_LAYER_rtdemo_hub rtdemo_protocol rtdemo_metrics rtdemo_storage rtdemo_model)
set(RTDEMO_LAYER_rtdemo_http rtdemo_hub rtdemo_security rtdemo_streams rtdemo_protocol rtdemo_metrics
    rtdemo_storage rtdemo_model)
set(RTDEMO_LAYER_rtdemo_app rtdemo_http rtdemo_hub rtdemo_security rtdemo_streams rtdemo_protocol
    rtdemo_metrics rtdemo_config rtdemo_storage rtdemo_model)
set(RTDEMO_LAYER_rtdemo rtdemo_app)
# The token tool signs with JwtVerifier: security alone, so it carries
# neither the server nor liburing and libsystemd.
set(RTDEMO_LAYER_rtdemo-token rtdemo_security)

# The libraries of ours: what a link entry must be to be checked at all.
set(RTDEMO_LAYER_LIBRARIES rtdemo_model rtdemo_storage rtdemo_protocol rtdemo_streams rtdemo_metrics
    rtdemo_config rtdemo_security rtdemo_hub rtdemo_http rtdemo_app)

function(rtdemo_check_layer target)
  if(NOT TARGET ${target})
    message(FATAL_ERROR "layering: no target ${target} (cmake/rtdemo_layers.cmake)")
  endif()
  set(allowed ${RTDEMO_LAYER_${target}} ${ARGN})
  set(linked "")
  foreach(property LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
    get_target_property(libs ${target} ${property})
    if(libs)
      list(APPEND linked ${libs})
    endif()
  endforeach()
  foreach(lib IN LISTS linked)
    # $<LINK_ONLY:x>, which static libraries' private links become.
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" lib "${lib}")
    if(lib IN_LIST RTDEMO_LAYER_LIBRARIES AND NOT lib IN_LIST allowed)
      message(FATAL_ERROR
        "layering: ${target} links ${lib}, which it may not use "
        "(allowed: ${allowed}; cmake/rtdemo_layers.cmake)")
    endif()
  endforeach()
endfunction()

foreach(target ${RTDEMO_LAYER_LIBRARIES} rtdemo rtdemo-token)
  rtdemo_check_layer(${target})
endforeach()

# The fuzz targets (fuzz/): the layer each exercises, nothing above it.
if(RTDEMO_FUZZ)
  foreach(target fuzz_sse_encoder fuzz_send_request fuzz_next_poll fuzz_ws_frame
                 fuzz_ws_command)
    rtdemo_check_layer(${target} rtdemo_protocol)
  endforeach()
  rtdemo_check_layer(fuzz_cursor rtdemo_model)
  rtdemo_check_layer(fuzz_stream_offset rtdemo_streams)
  rtdemo_check_layer(fuzz_stream_body rtdemo_streams)
  rtdemo_check_layer(fuzz_stream_sse rtdemo_streams)
  rtdemo_check_layer(fuzz_client_address rtdemo_security)
  rtdemo_check_layer(fuzz_jwt rtdemo_security)
endif()

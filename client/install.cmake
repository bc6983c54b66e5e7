# Install rules of guise (cmake --install BUILD --prefix P):
#   P/bin/guise
#   P/LIBDIR/libguise.so.X.Y.Z (SONAME libguise.so.X) + libguise.so, libguise.a, and the
#     same for libguise-capture; LIBDIR is GNUInstallDirs' (lib, or lib/<multiarch>
#     under /usr on Debian)
#   P/include/guise.h, guise_capture.h
#   P/LIBDIR/pkgconfig/guise.pc, guise-static.pc, guise-capture.pc
#   P/LIBDIR/cmake/guise/guiseConfig.cmake + guiseConfigVersion.cmake
#   P/share/man/man1/guise.1, guise-batch.1 (made from the command's help: tools/man/mkman)
#   P/share/bash-completion/completions/guise, P/share/zsh/vendor-completions/_guise
#     (guise --completion bash|zsh)
#   P/share/doc/guise/ (README.md, docs/*.md, profiles/FORMAT.md)
# Components: "runtime" (command, shared libraries, man pages, docs) and "dev" (headers,
# static libraries, pkg-config and CMake files): tools/package makes a .deb of each.

install(TARGETS guise_cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime)
install(TARGETS guise_shared guise_capture_shared
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT runtime NAMELINK_SKIP)
install(TARGETS guise_shared guise_capture_shared
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev NAMELINK_ONLY)
install(FILES "${CMAKE_ARCHIVE_OUTPUT_DIRECTORY}/libguise.a"
              "${CMAKE_ARCHIVE_OUTPUT_DIRECTORY}/libguise-capture.a"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev)
install(FILES include/guise.h include/guise_capture.h
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT dev)

# pkg-config files carry the prefix given at install time (`cmake --install --prefix P`
# puts P in them), so they are written by the install step itself, straight into the
# destination: nothing is written into the build tree when installing.
string(REPLACE ";" " " GUISE_PC_REQUIRES_STR "${GUISE_PC_REQUIRES}")
foreach(pc guise guise-static guise-capture)
  configure_file("pkg/${pc}.pc.in" "${CMAKE_CURRENT_BINARY_DIR}/pkg/${pc}.pc.in2" @ONLY)
endforeach()
install(CODE "
  set(_dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\")
  foreach(pc guise guise-static guise-capture)
    file(READ \"${CMAKE_CURRENT_BINARY_DIR}/pkg/\${pc}.pc.in2\" _t)
    string(REPLACE \"%PREFIX%\" \"\${CMAKE_INSTALL_PREFIX}\" _t \"\${_t}\")
    message(STATUS \"Installing: \${_dir}/\${pc}.pc\")
    file(WRITE \"\${_dir}/\${pc}.pc\" \"\${_t}\")
    list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${_dir}/\${pc}.pc\")
  endforeach()" COMPONENT dev)
file(RELATIVE_PATH GUISE_CONFIG_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/cmake/guise" "/p")
configure_file(pkg/guiseConfig.cmake.in "${CMAKE_CURRENT_BINARY_DIR}/pkg/guiseConfig.cmake" @ONLY)
include(CMakePackageConfigHelpers)
# 0.x: a newer minor version may change the API (semantic versioning's rule for 0.y.z).
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/pkg/guiseConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/pkg/guiseConfig.cmake"
              "${CMAKE_CURRENT_BINARY_DIR}/pkg/guiseConfigVersion.cmake"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/guise" COMPONENT dev)

# Man pages from the built command's help text.
set(_man "${CMAKE_CURRENT_BINARY_DIR}/man")
foreach(page guise guise-batch)
  add_custom_command(OUTPUT "${_man}/${page}.1"
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${_man}"
    COMMAND "${PROJECT_SOURCE_DIR}/tools/man/mkman" "$<TARGET_FILE:guise_cli>" ${page} "${_man}/${page}.1"
    DEPENDS guise_cli "${PROJECT_SOURCE_DIR}/tools/man/mkman" "${PROJECT_SOURCE_DIR}/docs/CLI.md"
    COMMENT "Man page ${page}.1" VERBATIM)
  list(APPEND _man_pages "${_man}/${page}.1")
endforeach()
add_custom_target(guise_man ALL DEPENDS ${_man_pages})
install(FILES ${_man_pages} DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT runtime)

# Shell completion scripts from the built command's option table (guise --completion,
# client/cli/completion.c): bash-completion's and Debian zsh's standard places.
set(_comp "${CMAKE_CURRENT_BINARY_DIR}/completion")
add_custom_command(OUTPUT "${_comp}/guise" "${_comp}/_guise"
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${_comp}"
  COMMAND sh -c "\"$1\" --completion bash > \"$2/guise\" && \"$1\" --completion zsh > \"$2/_guise\""
          mkcompletion "$<TARGET_FILE:guise_cli>" "${_comp}"
  DEPENDS guise_cli COMMENT "Completion scripts for bash and zsh" VERBATIM)
add_custom_target(guise_completion ALL DEPENDS "${_comp}/guise" "${_comp}/_guise")
install(FILES "${_comp}/guise" DESTINATION "${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions"
  COMPONENT runtime)
install(FILES "${_comp}/_guise" DESTINATION "${CMAKE_INSTALL_DATAROOTDIR}/zsh/vendor-completions"
  COMPONENT runtime)

file(GLOB _docs "${PROJECT_SOURCE_DIR}/docs/*.md")
install(FILES "${PROJECT_SOURCE_DIR}/README.md" ${_docs} "${PROJECT_SOURCE_DIR}/profiles/FORMAT.md"
  DESTINATION "${CMAKE_INSTALL_DOCDIR}" COMPONENT runtime)
